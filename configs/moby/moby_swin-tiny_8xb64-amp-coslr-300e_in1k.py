# MoBY, Swin-T, 224 px, 300 epochs on ImageNet-1k: the official recipe
# (SwinTransformer/Transformer-SSL configs/moby_swin_tiny.yaml + config.py):
# online encoder drop path 0.2, target encoder built separately with drop
# path 0, projector/predictor 2-layer 4096/256 BN MLPs (SyncBN), two queues of
# 4096 keys, T = 0.2, momentum 0.99 -> 1 (cosine over all iterations);
# BYOL-asymmetric views (_base_/moby_two_views.py); AdamW lr 1e-3 per 512,
# wd 0.05 (biases and norms excepted), grad clip 5, warmup 5 epochs from
# 5e-7, cosine to 5e-6 (scaled), batch 8 x 64, AMP.
_base_ = [
    'mmpretrain::_base_/default_runtime.py',
    './_base_/moby_two_views.py',
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageNet', data_root='data/imagenet/', split='train',
                 pipeline=_base_.train_pipeline))
data_preprocessor = dict(
    type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375], to_rgb=True)
model = dict(
    type='visrep.MoBY',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='visrep.SwinTransformerV1', arch='tiny',
                  img_size=_base_.img_size, window_size=7, drop_path_rate=0.2,
                  out_indices=(3, )),
    neck=dict(type='visrep.MoBYMLP', in_channels=768, hid_channels=4096,
              out_channels=256, num_layers=2),
    head=dict(type='visrep.MoBYHead', temperature=0.2,
              predictor=dict(type='visrep.MoBYMLP', in_channels=256,
                             hid_channels=4096, out_channels=256,
                             num_layers=2)),
    target_drop_path_rate=0.0,
    base_momentum=0.99,
    queue_len=4096,
    feat_dim=256)
max_epochs = 300
warmup_epochs = 5
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3 * 512 / 512, betas=(0.9, 0.999),
                   eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=5e-7 / 1e-3, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=5e-6 * 512 / 512, by_epoch=True, begin=warmup_epochs,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [dict(type='visrep.RNGStateHook')]
auto_scale_lr = dict(base_batch_size=512)
