# Stock mmseg FCN (dilated ResNet-18, from scratch) on the small PASCAL
# Context set (60 classes, data/small/VOCdevkit/VOC2010/, mmseg's standard
# settings with CPU-sized scales): the small PASCAL Context base.
# The set: python tools/dataset_converters/make_small_datasets.py pascal_context
_base_ = [
    '../_base_/models/fcn_r18-d8.py', 'mmseg::_base_/datasets/pascal_context.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/small_seg_iters.py'
]
# reads the generated small set under data/small/ (see
# configs/_base_/datasets/small/imagenet.py for `small_data`)
small_data = True
data_root = 'data/small/VOCdevkit/VOC2010/'
crop_size = (128, 128)
img_scale = (512, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=img_scale, ratio_range=(0.5, 2.0),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
