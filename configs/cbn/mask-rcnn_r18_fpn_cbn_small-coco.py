# The stock mmdet Mask R-CNN of the smoke test (ResNet-18 FPN, from scratch,
# small COCO set) with every norm_cfg switched to Cross-Iteration BN: the
# backbone (stem, basic blocks, downsample), FPN and the mask head convs
# (ConvModules).  The burn-in is 2 iterations so that the short CPU runs of
# the e2e tests use the window (buffer_num=3: 4 iterations).
_base_ = '../smoke/mask-rcnn_r18_fpn_small-coco.py'
norm_cfg = dict(
    type='visrep.CBN', buffer_num=3, rho=1.0, burnin=2, burnin_unit='iter',
    requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(mask_head=dict(norm_cfg=norm_cfg)))
