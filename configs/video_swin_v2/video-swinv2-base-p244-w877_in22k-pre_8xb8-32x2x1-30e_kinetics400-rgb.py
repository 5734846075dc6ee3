# Video SwinV2-B: the Swin-B recipe of Video Swin (drop path 0.3, wd 0.05),
# inflated from the official SwinV2-B ImageNet-22K weights (192 px, window
# 12; stage 4 was 6x6): pretrained windows (12, 12, 12, 6).
_base_ = './video-swinv2-tiny-p244-w877_in1k-pre_8xb8-32x2x1-30e_kinetics400-rgb.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_base_patch4_window12_192_22k.pth'  # noqa
model = dict(
    backbone=dict(
        arch='base',
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.3,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    cls_head=dict(in_channels=1024))
optim_wrapper = dict(optimizer=dict(weight_decay=0.05))
