# SimMIM pre-training of SwinV2-G (192 px, window 12) under DeepSpeed ZeRO
# stage 2 (AdamW states and gradients sharded): the ZeRO-1 config with
# stage 2.
_base_ = './simmim_swinv2-giant-w12_ds-zero1-64xb144-bf16-152k_in1k-192px.py'
strategy = dict(zero_optimization=dict(stage=2))
