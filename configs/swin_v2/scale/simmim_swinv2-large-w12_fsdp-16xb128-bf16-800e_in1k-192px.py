# SimMIM pre-training of SwinV2-L (197M parameters) at 192 px, window 12, on
# ImageNet-1k, 800 epochs, under FSDP: 16 GPUs x 128 = 2048 images.
_base_ = ['./_base_/simmim_pretrain_192px.py', './_base_/strategies/fsdp.py']
model = dict(backbone=dict(arch='large'), neck=dict(in_channels=192 * 2**3))
train_dataloader = dict(batch_size=128)
