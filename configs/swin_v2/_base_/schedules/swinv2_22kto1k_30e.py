# The official ImageNet-22K -> 1k fine-tuning schedule of Swin V2: 30 epochs,
# 5 of linear warmup, cosine, AdamW at 2e-5 per 512 images (batch 1024 here),
# wd 1e-8 (none on the official no-decay set), grad clip 5.
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs1024_adamw_swin.py'
max_epochs = 30
optim_wrapper = dict(
    optimizer=dict(lr=2e-5 * 1024 / 512, weight_decay=1e-8),
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=2e-7 * 1024 / 512, by_epoch=True,
         begin=5, end=max_epochs, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
