# mmseg's DNLNet R50-D8 model with the official DNL head and "DSN"
# auxiliary head (yinmh17/DNL-Semantic-Segmentation, NLModule_nowd /
# NonLocalNet_nowd): official block (scalar whitening, no scale, gamma,
# unary term, C -> C value), OHEM cross-entropy (thresh 0.7, 100k pixels)
# averaged over the kept pixels as the official OhemCELoss, auxiliary 3x3 conv
# of 512 channels with plain cross-entropy (mean over non-ignored pixels, as
# the official nn.CrossEntropyLoss) and loss weight 0.4, bilinear upsampling
# with align_corners=True.  mmseg's CrossEntropyLoss would average both over
# all N*H*W pixels, ignored and (OHEM) dropped ones included.
_base_ = 'mmseg::_base_/models/dnl_r50-d8.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='visrep.DNLOfficialHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100000),
        loss_decode=dict(
            type='visrep.ClassWeightedCrossEntropyLoss', mean='kept_pixels',
            loss_weight=1.0)),
    auxiliary_head=dict(
        channels=512,
        align_corners=True,
        loss_decode=dict(
            _delete_=True,
            type='visrep.ClassWeightedCrossEntropyLoss', mean='class_weight',
            loss_weight=0.4)))
