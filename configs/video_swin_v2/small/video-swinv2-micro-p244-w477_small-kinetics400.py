# A micro Video SwinV2 trained from scratch on the small Kinetics-400 set
# (5 classes that differ only by motion; chance 0.20): proves the 3-D
# backbone learns temporal structure end to end on CPU.  The SlowOnly smoke
# config's data and batch (4); AdamW with the official no-decay set, 30
# epochs (600 iterations: a transformer from scratch needs ~300 before the
# motion is picked up; 12 epochs stay at chance).
_base_ = '../../smoke/slowonly_r18_small-kinetics400.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.VideoSwinTransformerV2',
        arch=dict(embed_dims=32, depths=(2, 2, 2, 2), num_heads=(2, 2, 4, 4)),
        patch_size=(2, 4, 4),
        window_size=(4, 7, 7),
        drop_path_rate=0.1),
    cls_head=dict(in_channels=256, num_classes=5, dropout_ratio=0.2))
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs)
]
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999),
                   weight_decay=0.02),
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    clip_grad=dict(max_norm=5.0))
default_hooks = dict(checkpoint=dict(interval=max_epochs))
