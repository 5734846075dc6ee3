# GroupNorm (32 groups) in FPN + heads (bbox and mask): the official "GN"
# baseline (configs/cbn/mask_rcnn_r50_fpn_gn_1x.py); the backbone keeps its
# frozen BN, as in faster-rcnn_r50_fpn_4conv1fc_gn_4xb4-1x_coco.py.
_base_ = './mask-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)))
