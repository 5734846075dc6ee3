# Linear probe of the micro Swin V1 pre-trained by moby_swin-micro_small-imagenet.py
# on the small ImageNet set (64 px, 10 classes): the official linear
# evaluation (frozen backbone in training mode with drop path 0.2, SGD
# nesterov momentum 0.9, wd 0, label smoothing 0.1, grad clip 5, warmup +
# cosine), scaled to CPU: batch 32, lr 0.5, 30 epochs.  Random
# initialisation for comparison: --cfg-options model.backbone.init_cfg=None
_base_ = '../swin-tiny_moby-300e-pre_linear-8xb64-coslr-100e_in1k.py'
pretrained = 'work_dirs/moby_swin-micro_small-imagenet/epoch_100.pth'
crop = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop, interpolation='bilinear',
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop * 8 // 7, edge='short',
         interpolation='bilinear', backend='pillow'),
    dict(type='CenterCrop', crop_size=crop),
    dict(type='PackInputs'),
]
# reads the generated small set under data/small/ (see
# configs/_base_/datasets/small/imagenet.py for `small_data`)
small_data = True
data_root = 'data/small/imagenet'
train_dataloader = dict(batch_size=32, num_workers=2,
                        dataset=dict(data_root=data_root,
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, num_workers=2,
                      dataset=dict(data_root=data_root,
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(arch=dict(_delete_=True, embed_dims=32, depths=[2, 2, 2],
                            num_heads=[2, 4, 8]),
                  img_size=crop, window_size=4, out_indices=(2, ),
                  init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=128))
max_epochs = 30
optim_wrapper = dict(optimizer=dict(lr=0.5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 3, eta_min=1e-4,
         by_epoch=True, begin=3, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
