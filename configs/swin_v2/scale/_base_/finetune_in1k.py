# ImageNet-1k fine-tuning of a SimMIM-pretrained SwinV2 (192 px, window 12)
# at 256, 384 or 640 px, for sharded training: the SimMIM fine-tuning recipe
# of Swin-L (configs/simmim/_base_/simmim_finetune_swin.py with
# swin-large-w14_simmim-800e-pre_8xb256-coslr-100e_in1k.py: 100 epochs, AdamW
# lr 1.25e-3 per 512 images, wd 0.05 without the official no-decay set,
# layer-wise lr decay 0.7, warm-up 20 epochs from 2.5e-7, cosine to 2.5e-7,
# clip 5, drop path 0.2, label smoothing 0.1, Mixup 0.8 / CutMix 1.0), batch
# 2048, pretrained windows (12, 12, 12, 6), activation checkpointing per
# block.  SimMIM gives no SwinV2-L/H values: Swin-L's.  No data here: an
# experiment adds _base_/datasets/imagenet_{256,384,640}px.py and a strategy,
# and sets the arch, window, head width (8 C), batch size and load_from.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer_v2/base_256.py',
    'mmpretrain::_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.2,
        with_cp=True))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.25e-3 * 2048 / 512, betas=(0.9, 0.999),
                   eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7))
param_scheduler = [
    dict(type='LinearLR', start_factor=2.5e-7 / 1.25e-3, by_epoch=True,
         begin=0, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=2.5e-7 * 2048 / 512,
         by_epoch=True, begin=20, end=100, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=2048)
randomness = dict(seed=0)
