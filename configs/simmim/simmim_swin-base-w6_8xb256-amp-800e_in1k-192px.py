# SimMIM, Swin-B, window 6, 192 px, 800 epochs (official
# simmim_pretrain__swin_base__img192_window6__800ep.yaml): lr 1e-4 per 512,
# warmup 10 epochs from 5e-7, x0.1 at epoch 700, drop path 0.
_base_ = 'simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py'
optim_wrapper = dict(optimizer=dict(lr=1e-4 * 2048 / 512))
param_scheduler = [
    dict(type='LinearLR', start_factor=5e-7 / 1e-4, by_epoch=True, begin=0,
         end=10, convert_to_iter_based=True),
    dict(type='MultiStepLR', milestones=[700], gamma=0.1, by_epoch=True,
         begin=10, end=800, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=800)
