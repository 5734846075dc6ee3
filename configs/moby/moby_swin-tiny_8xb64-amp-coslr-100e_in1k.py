# MoBY, Swin-T, 100 epochs (the paper's ablation length; 70.9 linear top-1).
_base_ = 'moby_swin-tiny_8xb64-amp-coslr-300e_in1k.py'
max_epochs = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=5e-7 / 1e-3, by_epoch=True, begin=0,
         end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 5, eta_min=5e-6,
         by_epoch=True, begin=5, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
