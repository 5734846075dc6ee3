# Mask R-CNN with a SwinV2-T backbone (window 16, initialised from the
# official ImageNet-1k 256px/w16 weights, whose last stage ran at window 8),
# FPN, 1x schedule on COCO; mmdet's Swin recipe (AdamW 1e-4, wd 0.05) with
# the official Swin V2 no-decay set.  Swin V2 detection weights were never
# released; see visrep/projects/swin_v2/README.md.
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_tiny_patch4_window16_256.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='tiny',
        window_size=16,
        pretrained_window_sizes=(16, 16, 16, 8),
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    neck=dict(in_channels=[96, 192, 384, 768]))
optim_wrapper = dict(
    paramwise_cfg=dict(_delete_=True),
    constructor='visrep.LayerwiseOptimWrapperConstructor')
