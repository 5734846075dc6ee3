# SwinV2-G ImageNet-1k fine-tuning, the paper's recipe (appendix A2.2, at
# 640 px): AdamW for 10 epochs, 2 of linear warm-up then cosine decay, batch
# 576, lr 2.1e-5, wd 0.1, gradient clipping 100, RandAugment, random erasing,
# drop path 0.5; no Mixup/CutMix and no layer-wise decay are named (label
# smoothing 0.1 is Swin's default).  The same recipe at 256 and 384 px.  The
# paper runs it after a 30-epoch supervised pre-training on ImageNet-22K-ext
# (private); after SimMIM alone, _base_/finetune_in1k.py (SimMIM's recipe) is
# the alternative.  Warm-up start and final lr as
# _base_/simmim_pretrain_giant_192px.py (Swin's defaults).
_base_ = './finetune_in1k.py'
model = dict(backbone=dict(drop_path_rate=0.5), train_cfg=None)
optim_wrapper = dict(
    optimizer=dict(lr=2.1e-5, weight_decay=0.1),
    clip_grad=dict(max_norm=100.0),
    paramwise_cfg=dict(layer_decay_rate=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, by_epoch=True,
         begin=2, end=10, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(base_batch_size=576)
