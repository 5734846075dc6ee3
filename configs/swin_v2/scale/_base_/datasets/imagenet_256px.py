# ImageNet-1k fine-tuning data at 256 px: mmpretrain's Swin pipeline
# (RandomResizedCrop, flip, RandAugment m9 mstd0.5, random erasing 0.25;
# test: resize the short edge to 292, centre crop 256).
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs64_swin_256.py'
