# Cross-Iteration BatchNorm, COCO detection baseline "-" (no normalization in
# the neck and heads) in the official CBN setup (Howal/Cross-iterationBatchNorm
# configs/cbn/mask_rcnn_r50_fpn_1x.py):
#   * ResNet-50 backbone, ImageNet-pretrained, stem + stage 1 frozen, its BN
#     statistics fixed (norm_eval=True) with trainable affine parameters --
#     the official fork's ResNet default (normalize=dict(type='BN',
#     frozen=False), norm_eval=True), which is mmdet 3's default too,
#   * 4conv1fc bbox head (Shared4Conv1FCBBoxHead),
#   * 4 GPUs x 4 images, SGD lr 0.02, grad clip 35, linear warmup 500 iters
#     from 1/3, 12 epochs with steps at 8 and 11.
# The other configs of this folder change only the norm_cfg of FPN + heads
# (bbox and mask).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256)))
train_dataloader = dict(batch_size=4, num_workers=4)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR', begin=0, end=12, by_epoch=True,
        milestones=[8, 11], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
