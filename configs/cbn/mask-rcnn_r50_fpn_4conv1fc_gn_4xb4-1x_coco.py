# GroupNorm (32 groups) in FPN + heads (bbox and mask): the official "GN"
# baseline (configs/cbn/mask_rcnn_r50_fpn_gn_1x.py).  mmdet's own GN configs
# (mmdet::gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py) put GN in the backbone too,
# from a GN-pretrained ResNet, for 2x: a different experiment, so this one
# keeps the frozen BN backbone of the CBN table.
_base_ = './mask-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)))
