# SwinV2-G fine-tuning on ImageNet-1k at 640 px, window 40, under DeepSpeed
# ZeRO stage 2 (AdamW states and gradients sharded): the ZeRO-1 config with
# stage 2.
_base_ = './swinv2-giant-w40_simmim-pre_ds-zero1-64xb9-bf16-10e_in1k-640px.py'
strategy = dict(zero_optimization=dict(stage=2))
