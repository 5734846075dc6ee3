# SimMIM pre-training of SwinV2-G (192 px, window 12):
# simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px.py with ZeRO
# stage 1 under plain DDP instead of FSDP: no strategy (mmengine's Runner),
# mmengine's ZeroRedundancyOptimizer shards the AdamW states, bf16 autocast.
_base_ = './simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px.py'
strategy = None
optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='ZeroRedundancyOptimizer', optimizer_type='AdamW'))
