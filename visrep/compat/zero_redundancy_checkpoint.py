"""Checkpoints of mmengine's ``ZeroRedundancyOptimizer`` (ZeRO-1) on several
ranks.

Each rank of torch's ``ZeroRedundancyOptimizer`` holds the state of its own
parameters; ``consolidate_state_dict(to=0)`` -- a collective every rank must
enter -- gathers them on rank 0 before ``state_dict()``.  mmengine 0.10.7's
wrapper consolidates inside ``state_dict()``, but both runners ask for the
optimizer's state dict on rank 0 alone (``Runner.save_checkpoint`` and
``DDPStrategy.save_checkpoint`` are ``master_only``): rank 0 waits in the
consolidation while the others train on, and the run hangs at the first
checkpoint.

The runners' ``save_checkpoint`` now consolidates every ZeRO optimizer on
all ranks first; the wrapper's ``state_dict()`` uses that consolidation
instead of starting a second one on rank 0 alone, and the gathered copy is
dropped after saving.  Resuming needs nothing: each rank loads the full
state dict and keeps its own part (torch's ``load_state_dict``).
"""
import contextlib
import functools
import inspect
from typing import Iterator, List

#: marks an optimizer consolidated for the checkpoint being saved
_CONSOLIDATED = '_visrep_consolidated'


def zero_optimizers(optim_wrapper) -> List:
    """The ZeRO optimizers of ``optim_wrapper`` (an ``OptimWrapper``, an
    ``OptimWrapperDict``, or a runner's optimizer config before the build)."""
    from mmengine.optim import OptimWrapper, OptimWrapperDict
    from torch.distributed.optim import ZeroRedundancyOptimizer
    if isinstance(optim_wrapper, OptimWrapperDict):
        wrappers = list(optim_wrapper.values())
    elif isinstance(optim_wrapper, OptimWrapper):
        wrappers = [optim_wrapper]
    else:
        return []
    return [w.optimizer for w in wrappers
            if isinstance(w.optimizer, ZeroRedundancyOptimizer)]


@contextlib.contextmanager
def consolidated(optimizers: List) -> Iterator[None]:
    """Within: each of ``optimizers`` is consolidated on rank 0 (entered on
    every rank); after: the gathered copy is dropped."""
    for optimizer in optimizers:
        optimizer.consolidate_state_dict(to=0)
        setattr(optimizer, _CONSOLIDATED, True)
    try:
        yield
    finally:
        for optimizer in optimizers:
            setattr(optimizer, _CONSOLIDATED, False)
            optimizer._all_state_dicts = []


def state_dict(self) -> dict:
    """mmengine's ``ZeroRedundancyOptimizer.state_dict``: the global state
    dict on rank 0 (empty on the others), consolidating only when the
    caller has not (then it must be called on every rank, as before)."""
    from mmengine.dist import is_main_process
    from torch.distributed.optim import ZeroRedundancyOptimizer
    if not getattr(self, _CONSOLIDATED, False):
        self.consolidate_state_dict()
    return ZeroRedundancyOptimizer.state_dict(self) if is_main_process() \
        else dict()


def _consolidating(save_checkpoint):
    """``runner.save_checkpoint`` that consolidates the ZeRO optimizers on
    every rank before the (rank-0) saving."""
    signature = inspect.signature(save_checkpoint)

    @functools.wraps(save_checkpoint)
    def patched(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        optimizers = zero_optimizers(self.optim_wrapper) if \
            bound.arguments.get('save_optimizer', True) else []
        with consolidated(optimizers):
            return save_checkpoint(self, *args, **kwargs)

    patched.__visrep_patched__ = True
    return patched


def install() -> None:
    from mmengine.optim.optimizer.zero_optimizer import \
        ZeroRedundancyOptimizer
    from mmengine.runner import FlexibleRunner, Runner
    if not hasattr(ZeroRedundancyOptimizer, 'consolidate_state_dict'):
        return  # torch without ZeRO: mmengine's stand-in is ``object``
    ZeroRedundancyOptimizer.state_dict = state_dict
    for runner in (Runner, FlexibleRunner):
        if not getattr(runner.save_checkpoint, '__visrep_patched__', False):
            runner.save_checkpoint = _consolidating(runner.save_checkpoint)
