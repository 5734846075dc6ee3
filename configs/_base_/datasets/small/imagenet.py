# ImageNet layout at data/imagenet/ with CPU-sized crops (64 px) for the small
# set written by tools/dataset_converters/make_small_datasets.py.
_base_ = '../imagenet.py'
crop = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop * 8 // 7, edge='short'),
    dict(type='CenterCrop', crop_size=crop),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=2, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
