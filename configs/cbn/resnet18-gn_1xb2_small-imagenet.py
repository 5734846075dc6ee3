# CPU small-batch demonstration with GroupNorm (32 groups) in ResNet-18.
_base_ = './resnet18-bn_1xb2_small-imagenet.py'
model = dict(
    backbone=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
