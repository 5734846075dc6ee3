# Mask R-CNN R50-FPN 1x (mmdet's stock config) with a DNL block (official
# block settings) after conv3 of every bottleneck of stages 4 and 5, through
# mmcv's plugin mechanism; no weight decay on the query/key convs.
# The DNL paper's detection code was never released: this placement is
# ours (at 1333x800 the HW x HW attention of res2/res3 maps is too large).
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(plugins=[
        dict(
            cfg=dict(type='visrep.DNLBlock'),
            stages=(False, False, True, True),
            position='after_conv3')
    ]))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            '.conv_query': dict(decay_mult=0.0),
            '.conv_key': dict(decay_mult=0.0)
        }))
