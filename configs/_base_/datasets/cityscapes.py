# Cityscapes gtFine (19 train ids), mmseg's standard settings at data/cityscapes/:
#   leftImg8bit/{train,val}/<city>/*_leftImg8bit.png
#   gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png
# A small set in this layout: python tools/dataset_converters/make_small_datasets.py cityscapes
_base_ = 'mmseg::_base_/datasets/cityscapes.py'
