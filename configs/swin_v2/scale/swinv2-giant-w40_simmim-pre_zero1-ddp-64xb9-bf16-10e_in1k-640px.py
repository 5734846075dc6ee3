# SwinV2-G fine-tuning on ImageNet-1k at 640 px, window 40:
# swinv2-giant-w40_simmim-pre_fsdp-64xb9-bf16-10e_in1k-640px.py with ZeRO
# stage 1 under plain DDP instead of FSDP: no strategy (mmengine's Runner),
# mmengine's ZeroRedundancyOptimizer shards the AdamW states, bf16 autocast.
_base_ = './swinv2-giant-w40_simmim-pre_fsdp-64xb9-bf16-10e_in1k-640px.py'
strategy = None
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='ZeroRedundancyOptimizer', optimizer_type='AdamW'))
