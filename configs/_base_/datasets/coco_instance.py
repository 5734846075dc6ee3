# COCO-2017 instance segmentation (boxes + polygon masks), mmdet's standard
# settings at data/coco/:
#   annotations/instances_{train,val}2017.json, train2017/, val2017/
# A small set in this layout: python tools/dataset_converters/make_small_datasets.py coco
_base_ = 'mmdet::_base_/datasets/coco_instance.py'
