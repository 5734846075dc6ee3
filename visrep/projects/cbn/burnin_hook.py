"""``visrep.CBNBurnInHook``: burn-in given in epochs, converted to iterations.

A CBN counts its training calls (``iter_count``, as the official layer);
``burnin_unit='epoch'`` needs the number of iterations per epoch, which only
the runner knows.  Before training this hook sets it on every CBN of the
model that asks for epochs: ``burnin * len(train_dataloader)`` iterations
(per process, so it holds under DDP too).  An iteration-based loop has no
epochs: that is an error naming the field.

The official ``tools/train.py`` meant to do this conversion but only did it
for ``cfg.norm_cfg``; its configs set ``normalize=dict(type='CBN', ...,
burnin=8)``, so the released runs used a burn-in of 8 *iterations*.
"""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from visrep.registry import HOOKS
from .cbn import CBN


@HOOKS.register_module()
class CBNBurnInHook(Hook):
    """Convert ``burnin_unit='epoch'`` burn-ins to iterations."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        layers = [
            m for m in model.modules()
            if isinstance(m, CBN) and m.burnin_unit == 'epoch'
        ]
        if not layers:
            return
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            raise ValueError(
                "visrep.CBN burnin_unit='epoch' needs an epoch-based "
                f'train_cfg (the loop is {type(runner.train_loop).__name__}'
                "): use train_cfg=dict(by_epoch=True, ...) or give the "
                "burn-in in iterations (burnin_unit='iter').")
        iters_per_epoch = len(runner.train_dataloader)
        for layer in layers:
            layer.iters_per_epoch = iters_per_epoch
        burnins = sorted({layer.burnin for layer in layers})
        print_log(
            f'visrep.CBN burn-in of {burnins} epoch(s) = x {iters_per_epoch} '
            f'iterations per epoch, for {len(layers)} layers.',
            logger='current')
