# Per-GPU BatchNorm in FPN + heads (bbox and mask): the Mask R-CNN version
# of faster-rcnn_r50_fpn_4conv1fc_bn_4xb4-1x_coco.py.
_base_ = './mask-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)))
