# Kinetics-400 layout at data/small/kinetics400/ with CPU-sized clips for the small
# set written by tools/dataset_converters/make_small_datasets.py (32 frames of
# 96x72): 8 frames, every 4th (the whole clip), 56 px crops.
_base_ = '../kinetics400.py'
# The generated small set lives under data/small/ (never the real data/<set>);
# `small_data = True` tells visrep/cli/small_data_guard.py this config is
# meant for it (full-size configs pointed at a small set stop with an error).
small_data = True
data_root = 'data/small/kinetics400/videos_train'
data_root_val = 'data/small/kinetics400/videos_val'
ann_file_train = 'data/small/kinetics400/kinetics400_train_list_videos.txt'
ann_file_val = 'data/small/kinetics400/kinetics400_val_list_videos.txt'
file_client_args = dict(io_backend='disk')
clip_len = 8
frame_interval = 4
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='RandomResizedCrop', area_range=(0.5, 1.0)),
    dict(type='Resize', scale=(56, 56), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='CenterCrop', crop_size=56),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 64)),
    dict(type='ThreeCrop', crop_size=64),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
# batch 4: from scratch, motion needs ~240 updates more than large batches
train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(ann_file=ann_file_train, data_prefix=dict(video=data_root),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(ann_file=ann_file_val,
                 data_prefix=dict(video=data_root_val),
                 pipeline=val_pipeline))
test_dataloader = dict(
    num_workers=2,
    dataset=dict(ann_file=ann_file_val,
                 data_prefix=dict(video=data_root_val),
                 pipeline=test_pipeline))
