# Linear evaluation of MoBY Swin-T (official moby_linear.py): the backbone is
# frozen but stays in training mode (drop path 0.2 active, as officially),
# average pooling, a linear head (trunc_normal 0.02) trained with SGD lr 1.0
# per 512 (nesterov, momentum 0.9, wd 0), grad clip 5, label smoothing 0.1
# (config default, not overridden by moby_linear.py), warmup 5 epochs from
# 5e-7, cosine to 5e-6 (scaled), 100 epochs; RandomResizedCrop 224 + flip,
# test resize 256 + centre crop 224.  Paper/README: 75.3 (75.0 in the
# abstract) top-1.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
pretrained = 'work_dirs/moby_swin-tiny_8xb64-amp-coslr-300e_in1k/epoch_300.pth'  # noqa
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, interpolation='bilinear',
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', interpolation='bilinear',
         backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, drop_last=True,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    type='ImageClassifier',
    backbone=dict(type='visrep.SwinTransformerV1', arch='tiny', img_size=224,
                  window_size=7, drop_path_rate=0.2, out_indices=(3, ),
                  frozen_weights=True,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                                prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=768,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                        mode='original'),
              init_cfg=dict(type='TruncNormal', layer='Linear', std=0.02,
                            bias=0.)))
max_epochs = 100
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1.0 * 512 / 512, momentum=0.9,
                   nesterov=True, weight_decay=0.0),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=5e-7 / 1.0, by_epoch=True, begin=0,
         end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, eta_min=5e-6,
         by_epoch=True, begin=5, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)
