# Official DNL on PASCAL Context, 60 classes with background (NLnowd
# pcontext config + run_fs_res101_nonlocal_pcontext_seg.sh recipe): the
# official head on ResNet-101-D8, 520x520 crops (mmseg's pascal_context base
# crops 480), OHEM cross-entropy, 30k iterations, lr 0.01, wd 1e-4, batch 16
# (4 GPUs x 4), sliding-window test.
_base_ = [
    './_base_/models/dnl-official_r50-d8.py',
    'mmseg::_base_/datasets/pascal_context.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/official-poly_80k.py'
]
crop_size = (520, 520)
img_scale = (520, 520)
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(347, 347)))
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
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
max_iters = 30000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=1e-4))
