# mmseg's FCN with a dilated ResNet-18 (the settings of mmseg's
# fcn_r18-d8 configs), trained from scratch: no ImageNet download.
_base_ = 'mmseg::_base_/models/fcn_r50-d8.py'
model = dict(
    pretrained=None,
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
