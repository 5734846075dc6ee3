# The official recipe of dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py
# with ResNet-101-D8 (the paper's ADE20K backbone).
_base_ = './dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
