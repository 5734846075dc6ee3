"""Mixed precision on CPU: bfloat16 autocast for the forward pass."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from visrep.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``AmpOptimWrapper`` for machines without a GPU.

    mmengine's ``AmpOptimWrapper`` refuses to start without a GPU.  On CPU,
    ``torch.autocast`` supports bfloat16 only, whose exponent range equals
    fp32's, so no loss scaling is needed: this wrapper runs the forward pass
    under ``autocast('cpu', bfloat16)`` and is otherwise a plain
    ``OptimWrapper``.  ``tools/train.py --amp`` selects it when CUDA is not
    available.

    Args:
        dtype (str | torch.dtype): autocast dtype; only bfloat16 is supported
            on CPU. Defaults to ``'bfloat16'``.
        **kwargs: arguments of :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        if dtype != torch.bfloat16:
            raise ValueError(
                f'CPUAmpOptimWrapper: dtype={dtype} is not supported; CPU '
                "autocast runs in bfloat16 (set dtype='bfloat16').")
        super().__init__(**kwargs)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), autocast(
                device_type='cpu', dtype=self.cast_dtype):
            yield
