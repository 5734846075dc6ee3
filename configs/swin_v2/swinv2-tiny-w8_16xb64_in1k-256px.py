# SwinV2-T (window 8) on ImageNet-1k at 256 px, 300 epochs from scratch: the
# official recipe (AdamW 1e-3 for batch 1024, wd 0.05 except the official
# no-decay set, grad clip 5, warmup 20, cosine, RandAugment, mixup 0.8,
# cutmix 1.0, label smoothing 0.1, drop path 0.2), mmpretrain's data pipeline.
# Released weights (test with tools/test.py <config> <pth>):
#   https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_tiny_patch4_window8_256.pth
_base_ = 'mmpretrain::swin_transformer_v2/swinv2-tiny-w8_16xb64_in1k-256px.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='tiny',
        img_size=256,
        window_size=8,
        drop_path_rate=0.2))
optim_wrapper = dict(
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    clip_grad=dict(max_norm=5.0))
