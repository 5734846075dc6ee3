# SimMIM pre-training of SwinV2-G (3.0B parameters) at 192 px, window 12, on
# ImageNet-1k, the paper's 151909 iterations, under FSDP: 64 GPUs x 144 = 9216
# images.
_base_ = [
    './_base_/simmim_pretrain_giant_192px.py',
    './_base_/strategies/fsdp.py',
]
model = dict(backbone=dict(arch='giant'), neck=dict(in_channels=512 * 2**3))
train_dataloader = dict(batch_size=144)
