# mmseg's iteration-based SGD + poly schedule, shortened for the small sets:
# 50 iterations, one evaluation and one checkpoint at the end.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
max_iters = 50
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=max_iters))
