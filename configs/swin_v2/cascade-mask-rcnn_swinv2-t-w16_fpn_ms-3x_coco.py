# Cascade Mask R-CNN + SwinV2-T (window 16) + FPN, 3x multi-scale schedule
# (mmdet's cascade 3x recipe) with AdamW 1e-4, wd 0.05, drop path 0.2.
_base_ = 'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_ms-3x_coco.py'
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
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='visrep.LayerwiseOptimWrapperConstructor')
# mmdet's ms_3x_coco-instance.py evaluates boxes only (metric='bbox'); the
# paper reports box and mask AP.
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
