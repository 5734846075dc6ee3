# ImageNet-1k, mmpretrain's standard settings (224 px, batch 32 per GPU) at
# data/imagenet/: train/<wnid>/*.JPEG, val/*.JPEG, meta/{train,val}.txt
# A small set in this layout: python tools/dataset_converters/make_small_datasets.py imagenet
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'
