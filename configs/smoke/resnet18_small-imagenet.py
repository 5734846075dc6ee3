# Stock mmpretrain ResNet-18 (from scratch) on the small ImageNet set (10
# synsets, 64 px): proves the classification stack on CPU; the small
# ImageNet base for plugins.
_base_ = [
    'mmpretrain::_base_/models/resnet18.py',
    '../_base_/datasets/small/imagenet.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py'
]
max_epochs = 6
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs)
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(base_batch_size=32)
