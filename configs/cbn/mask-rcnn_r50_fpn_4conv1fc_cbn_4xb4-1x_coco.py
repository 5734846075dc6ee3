# Cross-Iteration BatchNorm in FPN + heads (bbox and mask), as the official
# configs ran it (configs/cbn/mask_rcnn_r50_fpn_cbn_buffer3_burnin8_1x.py):
# the settings of faster-rcnn_r50_fpn_4conv1fc_cbn_4xb4-1x_coco.py, which
# explains them (the burn-in counts 8 iterations; the official numerics:
# eps outside the sqrt, unbiased variance without a window, uniform init).
_base_ = './mask-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(
    type='visrep.CBN', buffer_num=3, rho=1.0, burnin=8, burnin_unit='iter',
    eps_in_sqrt=False, plain_var='unbiased', affine_init='uniform',
    requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)))
