# ImageNet layout at data/small/imagenet/ with CPU-sized crops (64 px) for the small
# set written by tools/dataset_converters/make_small_datasets.py.
_base_ = '../imagenet.py'
# The generated small set lives under data/small/ (never the real data/<set>);
# `small_data = True` tells visrep/cli/small_data_guard.py this config is
# meant for it (full-size configs pointed at a small set stop with an error).
small_data = True
data_root = 'data/small/imagenet'
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
    batch_size=32, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
