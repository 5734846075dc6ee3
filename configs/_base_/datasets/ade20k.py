# ADE20K SceneParsing (150 classes, reduce_zero_label), mmseg's standard
# settings at data/ade/ADEChallengeData2016/:
#   images/{training,validation}/*.jpg, annotations/{training,validation}/*.png
# A small set in this layout: python tools/dataset_converters/make_small_datasets.py ade20k
_base_ = 'mmseg::_base_/datasets/ade20k.py'
