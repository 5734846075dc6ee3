# MoBY pre-training of a micro Swin V1 (C=32, depths 2-2-2, stride 16) on the
# small ImageNet set (400 images): the official algorithm and BYOL-asymmetric
# views at 64 px, scaled to CPU -- projector/predictor hidden 512, queues of
# 256 keys, batch 32, AdamW 1e-3, 100 epochs (1200 iterations).  The
# linear-probe comparison is swin-micro_moby-pre_linear_small-imagenet.py.
_base_ = '../moby_swin-tiny_8xb64-amp-coslr-300e_in1k.py'
img_size = 64
# torchvision's ColorJitter, as the official code: mmcv 2.1's adjust_hue
# (behind mmpretrain's ColorJitter) fails on NumPy 2 for negative hue shifts
color_jitter = [
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4,
         saturation=0.2, hue=0.1),
    dict(type='PILToNumpy', to_bgr=True),
]
# the two views differ only in blur and solarization (BYOL-asymmetric)
common_view = [
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.08, 1.),
         interpolation='bilinear', backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomApply', prob=0.8, transforms=color_jitter),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
view_pipeline1 = common_view + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=1.0),
    dict(type='Solarize', thr=128, prob=0.0),
]
view_pipeline2 = common_view + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=32, num_workers=2,
                        persistent_workers=False,
                        dataset=dict(pipeline=train_pipeline))
micro = dict(_delete_=True, embed_dims=32, depths=[2, 2, 2],
             num_heads=[2, 4, 8])
model = dict(
    backbone=dict(arch=micro, img_size=img_size, window_size=4,
                  out_indices=(2, )),
    neck=dict(in_channels=128, hid_channels=512),
    head=dict(predictor=dict(hid_channels=512)),
    queue_len=256)
max_epochs = 100
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 4, eta_min=1e-5,
         by_epoch=True, begin=4, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=4),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
