# ADE20K layout at data/small/ade/ADEChallengeData2016/ with CPU-sized scales for
# the small set written by tools/dataset_converters/make_small_datasets.py.
_base_ = '../ade20k.py'
# The generated small set lives under data/small/ (never the real data/<set>);
# `small_data = True` tells visrep/cli/small_data_guard.py this config is
# meant for it (full-size configs pointed at a small set stop with an error).
small_data = True
data_root = 'data/small/ade/ADEChallengeData2016'
crop_size = (128, 128)
img_scale = (512, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
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
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
