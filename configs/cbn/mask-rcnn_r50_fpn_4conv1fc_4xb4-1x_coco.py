# Cross-Iteration BatchNorm, COCO detection baseline "-" for Mask R-CNN
# (official configs/cbn/mask_rcnn_r50_fpn_1x.py): mmdet's Mask R-CNN R-50 FPN
# with the setup of faster-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py (mmdet's
# ResNet-50, the 4conv1fc bbox head, the official schedule).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    './_base_/cbn_schedule_4xb4-1x.py',
    'mmdet::_base_/default_runtime.py',
]
model = dict(
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256)))
train_dataloader = dict(batch_size=4, num_workers=4)
