# Per-GPU BatchNorm (4 images per GPU, statistics not synchronised) in FPN +
# heads: the small-batch BN that CBN is meant to fix.  Not a row of the
# official table; it is what CBN with buffer_num=0 computes.
_base_ = './faster-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(norm_cfg=norm_cfg)))
