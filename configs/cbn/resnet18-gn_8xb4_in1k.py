# GroupNorm (32 groups) everywhere in ResNet-18, 8 GPUs x 4 images: the
# batch-independent baseline of the CBN paper's ImageNet table.
_base_ = './resnet18-bn_8xb4_in1k.py'
model = dict(
    backbone=dict(norm_cfg=dict(type='GN', num_groups=32, requires_grad=True)))
