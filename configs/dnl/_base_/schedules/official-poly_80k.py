# The official solver: SGD (momentum 0.9), poly decay with power 0.9 down to
# 0, no weight decay on the DNL query/key convs (official nowd=['nl']).
# Configs set lr, weight decay and the number of iterations.
_base_ = 'mmseg::_base_/schedules/schedule_80k.py'
max_iters = 80000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            '.conv_query': dict(decay_mult=0.0),
            '.conv_key': dict(decay_mult=0.0)
        }))
