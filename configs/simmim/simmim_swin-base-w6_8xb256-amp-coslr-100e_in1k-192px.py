# SimMIM, Swin-B, window 6, 192 px, 100 epochs (official
# simmim_pretrain__swin_base__img192_window6__100ep.yaml): lr 2e-4 per 512,
# warmup 10 epochs from 1e-6, cosine to 1e-5 (all x 2048/512), drop path 0.
# Fine-tune with swin-base-w7_simmim-100e-pre_8xb256-coslr-100e_in1k.py.
_base_ = '_base_/simmim_swin_pretrain.py'
model = dict(
    backbone=dict(type='visrep.MaskedSwinTransformerV1', arch='base',
                  img_size=192, window_size=6, drop_path_rate=0.0,
                  out_indices=(3, )),
    neck=dict(in_channels=128 * 2**3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 2e-4, by_epoch=True, begin=0,
         end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=90, eta_min=1e-5 * 2048 / 512,
         by_epoch=True, begin=10, end=100, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
