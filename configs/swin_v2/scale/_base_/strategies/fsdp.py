# mmengine's FSDPStrategy for SwinV2 (run by FlexibleRunner; tools/train.py
# builds it whenever a config sets `strategy`): parameters, gradients and
# AdamW states sharded over the ranks, one FSDP unit per SwinV2 block
# (visrep.swin_v2_block_wrap_policy; the embedding, patch merging, norms,
# necks and heads stay in the root unit), bf16 parameters and activations
# with fp32 gradient reductions and fp32 sharded master weights.  'full'
# state dicts: each checkpoint is one ordinary file gathered on rank 0, so
# a fine-tuning config can `load_from` it and `--resume` works at any world
# size.  Pair with backbone `with_cp=True` (activation checkpointing per
# block); the optimizer stays a plain `OptimWrapper` (no AMP wrapper: FSDP
# does the mixed precision).
strategy = dict(
    type='FSDPStrategy',
    state_dict_cfg='full',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='visrep.swin_v2_block_wrap_policy'),
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32',
                             buffer_dtype='float32')))

# mmengine keeps no random state in checkpoints: with stochastic depth a
# resumed run would draw other masks than the unbroken one.  This hook saves
# and restores them, so `--resume` continues bit for bit
# (tests/engine/test_sharded_resume.py).
custom_hooks = [dict(type='visrep.RNGStateHook')]
