# Video SwinV2-S: the Swin-S recipe of Video Swin (drop path 0.2), inflated
# from the official SwinV2-S ImageNet-1k weights (256 px, window 8).
_base_ = './video-swinv2-tiny-p244-w877_in1k-pre_8xb8-32x2x1-30e_kinetics400-rgb.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_small_patch4_window8_256.pth'  # noqa
model = dict(
    backbone=dict(
        arch='small',
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)))
