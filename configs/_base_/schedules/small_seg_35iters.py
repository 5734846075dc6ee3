# The small-set schedule (small_seg_iters.py) shortened to 35 iterations at
# twice the learning rate: as far above the constant-prediction baseline as
# 50 iterations at lr 0.01, in 70 % of the time (the smoke FCN configs).
_base_ = './small_seg_iters.py'
max_iters = 35
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
