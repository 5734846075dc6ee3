# SimMIM pre-training of SwinV2-G (192 px, window 12):
# simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px.py under DeepSpeed
# ZeRO stage 1 (the paper's engine) instead of FSDP; needs the deepspeed
# package.
_base_ = [
    './_base_/simmim_pretrain_giant_192px.py',
    './_base_/strategies/deepspeed_zero1.py',
]
model = dict(backbone=dict(arch='giant'), neck=dict(in_channels=512 * 2**3))
train_dataloader = dict(batch_size=144)
# DeepSpeed builds and steps the optimizer and clips the gradients itself
optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    constructor={{_base_.optim_wrapper.constructor}})
strategy = dict(gradient_clipping={{_base_.optim_wrapper.clip_grad.max_norm}})
