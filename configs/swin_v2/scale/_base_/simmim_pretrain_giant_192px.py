# SwinV2-G stage-1 pre-training, the paper's recipe (appendix A2.2): SimMIM at
# 192 px, window 12, AdamW, batch 9216, lr 1.4e-3, wd 0.1, gradient clipping
# 100, 30000 steps of linear warm-up then cosine decay, 20 epochs of the
# private ImageNet-22K-ext (70M images).  Here on ImageNet-1k for the same
# number of steps at the same batch (20 * 70M / 9216 = 151909 iterations: as
# many images seen, about 1093 ImageNet-1k epochs).  The paper names no
# warm-up start or final lr: Swin's config.py defaults relative to the base lr
# (x1e-3, x1e-2).  Augmentation (RandomResizedCrop 0.67-1 / 3:4-4:3, flip),
# normalised target and drop path 0.1 as _base_/simmim_pretrain_192px.py.
_base_ = './simmim_pretrain_192px.py'
max_iters = 20 * 70_000_000 // 9216
warmup_iters = 30_000
optim_wrapper = dict(optimizer=dict(lr=1.4e-3, weight_decay=0.1),
                     clip_grad=dict(max_norm=100.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min_ratio=1e-2, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=5000))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=9216)
