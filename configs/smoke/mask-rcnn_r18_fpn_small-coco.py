# Stock mmdet Mask R-CNN (ResNet-18 FPN, from scratch) on the small COCO set:
# proves the detection stack on CPU (bbox + segm mAP through pycocotools);
# the small COCO base for plugins.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/small/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
# The small images hold at most 3 objects: 64 sampled RoIs and 200 proposals
# per image (instead of 512 and 1000) keep mmcv's CPU RoIAlign, which
# dominated the step, to a fifth of it; the evaluation keeps the 10 best
# detections per image (instead of 100: the mask head and the mask encoding
# run per kept box).
model = dict(
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512]),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=10)))
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=30),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[1], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10, norm_type=2))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_epochs))
