# SyncBN (statistics over all 4 GPUs x 4 images) in FPN + heads (bbox and
# mask): the official "SyncBN" baseline.  Without CUDA, tools/train.py runs it
# with per-process BN (PyTorch's SyncBN needs a GPU).
_base_ = './mask-rcnn_r50_fpn_4conv1fc_4xb4-1x_coco.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(norm_cfg=norm_cfg), mask_head=dict(norm_cfg=norm_cfg)))
