# Fine-tuning of the micro Swin V1 pre-trained by
# simmim_swin-micro_small-imagenet.py on the small ImageNet set (64 px, 10
# classes): the SimMIM fine-tuning recipe scaled to CPU (AdamW 1e-3, wd 0.05,
# official no-decay set, layer-wise lr decay 0.9, drop path 0.1, warmup then
# cosine, 30 epochs).  Random initialisation for comparison:
#   --cfg-options model.backbone.init_cfg=None
_base_ = '../../smoke/resnet18_small-imagenet.py'
pretrained = 'work_dirs/simmim_swin-micro_small-imagenet/epoch_40.pth'
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV1',
        arch=dict(embed_dims=32, depths=[2, 2, 2], num_heads=[2, 4, 8]),
        img_size=64,
        window_size=4,
        drop_path_rate=0.1,
        out_indices=(2, ),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')),
    head=dict(in_channels=128))
max_epochs = 30
optim_wrapper = dict(
    _delete_=True,
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 3, eta_min=1e-6,
         by_epoch=True, begin=3, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
