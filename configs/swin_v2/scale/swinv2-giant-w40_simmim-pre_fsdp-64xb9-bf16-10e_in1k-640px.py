# SwinV2-G pre-trained by SimMIM (192 px, window 12) fine-tuned on ImageNet-1k
# at 640 px, window 40 (the paper's SwinV2-G recipe, 10 epochs), under FSDP: 64
# GPUs x 9 = 576 images. Sequential self-attention in the first two stages (the
# paper's section 3.5): each attention layer attends to 4 windows at a time.
_base_ = [
    './_base_/finetune_giant_in1k.py', './_base_/datasets/imagenet_640px.py',
    './_base_/strategies/fsdp.py'
]
model = dict(
    backbone=dict(arch='giant', img_size=640, window_size=40,
                  attn_chunk_size=(4, 4, 0, 0)),
    head=dict(in_channels=512 * 2**3))
train_dataloader = dict(batch_size=9)
load_from = 'work_dirs/simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px/iter_151909.pth'  # noqa
