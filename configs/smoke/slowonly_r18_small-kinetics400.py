# Stock mmaction2 SlowOnly (ResNet3d-18, from scratch) on the small
# Kinetics-400 set (classes differ only by motion): proves the video stack on
# CPU; the small Kinetics base for plugins.
_base_ = [
    'mmaction::_base_/models/slowonly_r50.py',
    '../_base_/datasets/small/kinetics400.py',
    'mmaction::_base_/schedules/sgd_50e.py',
    'mmaction::_base_/default_runtime.py'
]
model = dict(
    backbone=dict(depth=18, pretrained=None),
    cls_head=dict(in_channels=512))
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs)
]
optim_wrapper = dict(optimizer=dict(lr=0.05))
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(base_batch_size=4)
