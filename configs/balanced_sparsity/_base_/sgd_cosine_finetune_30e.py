# Fine-tuning while pruning: SGD (momentum 0.9, wd 1e-4, mmpretrain's
# imagenet_bs256 settings) at lr 0.01, cosine to 0 per iteration over 30
# epochs.
_base_ = 'mmpretrain::_base_/schedules/imagenet_bs256.py'
max_epochs = 30
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(
    _delete_=True, type='CosineAnnealingLR', by_epoch=True, T_max=max_epochs,
    convert_to_iter_based=True)
train_cfg = dict(max_epochs=max_epochs)
