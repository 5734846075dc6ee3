# SwinV2-H pre-trained by SimMIM (192 px, window 12) fine-tuned on ImageNet-1k
# at 256 px, window 16 (SimMIM fine-tuning recipe, 100 epochs), under FSDP: 32
# GPUs x 64 = 2048 images.
_base_ = [
    './_base_/finetune_in1k.py', './_base_/datasets/imagenet_256px.py',
    './_base_/strategies/fsdp.py'
]
model = dict(
    backbone=dict(arch='huge', img_size=256, window_size=16),
    head=dict(in_channels=352 * 2**3))
train_dataloader = dict(batch_size=64)
load_from = 'work_dirs/simmim_swinv2-huge-w12_fsdp-32xb64-bf16-800e_in1k-192px/epoch_800.pth'  # noqa
