# UperNet with a SwinV2-T backbone (window 16, official ImageNet-1k 256px/w16
# weights) on ADE20K, 512x512 crops, 160k iterations: mmseg's Swin recipe
# (AdamW 6e-5, wd 0.01, warmup 1500, poly) with the official no-decay set.
_base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_tiny_patch4_window16_256.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='tiny',
        window_size=16,
        pretrained_window_sizes=(16, 16, 16, 8),
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True),
    constructor='visrep.LayerwiseOptimWrapperConstructor')
