# Cross-Iteration BatchNorm, COCO detection baseline "-" (no normalization in
# the neck and heads) in the official CBN setup (Howal/Cross-iterationBatchNorm
# configs/cbn/faster_rcnn_r50_fpn_1x.py): mmdet's Faster R-CNN R-50 FPN with
#   * mmdet's ResNet-50 as it is: ImageNet-pretrained, stem + stage 1 frozen,
#     BN statistics fixed (norm_eval=True), affine parameters trainable --
#     the official fork's ResNet default too (normalize=dict(type='BN',
#     frozen=False), norm_eval=True),
#   * the 4conv1fc bbox head (Shared4Conv1FCBBoxHead),
#   * the official schedule (_base_/cbn_schedule_4xb4-1x.py).
# The other configs of this folder change only the norm_cfg of FPN + heads;
# the mask-rcnn_* ones are the same for Mask R-CNN (bbox and mask heads).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    './_base_/cbn_schedule_4xb4-1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256)))
train_dataloader = dict(batch_size=4, num_workers=4)
