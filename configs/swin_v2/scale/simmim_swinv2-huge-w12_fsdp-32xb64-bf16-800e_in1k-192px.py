# SimMIM pre-training of SwinV2-H (658M parameters) at 192 px, window 12, on
# ImageNet-1k, 800 epochs, under FSDP: 32 GPUs x 64 = 2048 images.
_base_ = ['./_base_/simmim_pretrain_192px.py', './_base_/strategies/fsdp.py']
model = dict(backbone=dict(arch='huge'), neck=dict(in_channels=352 * 2**3))
train_dataloader = dict(batch_size=64)
