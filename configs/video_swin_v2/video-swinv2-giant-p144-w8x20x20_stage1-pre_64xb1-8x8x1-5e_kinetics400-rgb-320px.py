# Reference config: stage 2 of the paper's Video-SwinV2-G schedule: 320x320x8,
# window 20x20x8, 5 epochs, 1-epoch warmup, batch 64, lr 5e-5, wd 0.1,
# starting from stage 1 (load_from its last checkpoint).  Stage 1 trained
# windows 8x16x16 in stages 1-3 and 8x8x8 in stage 4 (an 8x8 map at 256 px).
# Paper: 83.2 top-1 at 320/w20, 1x1 view; 86.8 at 384/w24 with 4x5 views
# (the test config ..._test-384px.py).
_base_ = './video-swinv2-giant-p144-w8x16x16_in22k-ext-pre_80xb1-8x8x1-20e_kinetics400-rgb-256px.py'
load_from = 'work_dirs/video-swinv2-giant-p144-w8x16x16_in22k-ext-pre_80xb1-8x8x1-20e_kinetics400-rgb-256px/epoch_20.pth'  # noqa
model = dict(
    backbone=dict(
        window_size=(8, 20, 20),
        pretrained_window_sizes=[(8, 16, 16)] * 3 + [(8, 8, 8)]))
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 365)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(320, 320), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 320)),
    dict(type='CenterCrop', crop_size=320),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(batch_size=1, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=val_pipeline))  # 1x1 view
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=5e-5, weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
