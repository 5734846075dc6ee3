"""The precision of CBN's statistics: fp32 at least, and no TF32.

The window's numbers are differences of large, nearly equal terms (the
Taylor terms ``<d, W_t> - <d, W_tau>``, the identity ``<dnu, W> = 2 (var +
mu <dmu, W>)``), so they are kept in fp32 (fp64 for fp64 inputs) whatever
the activations' dtype, and computed with full fp32 products and
convolutions on CUDA.  ``t.to(t.dtype)`` and ``torch.promote_types`` would
be dispatched tensor operations; they are answered in Python here.
"""
import contextlib
from typing import Iterator

import torch
from torch import Tensor

_STAT_DTYPES = (torch.float32, torch.float64)


def stat_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype statistics are kept in: fp32 at least (fp64 stays fp64)."""
    return dtype if dtype in _STAT_DTYPES else torch.float32


def cast(tensor: Tensor, dtype: torch.dtype) -> Tensor:
    """``tensor.to(dtype)``, without a dispatched call when it is a no-op."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def _tf32_switches():
    """(TF32 on?, setter) for cuBLAS and cuDNN, in whichever of PyTorch's
    two APIs the program uses (mixing them raises): the legacy
    ``allow_tf32`` flags, or ``fp32_precision`` (PyTorch >= 2.9)."""
    switches = []
    for legacy, new in ((torch.backends.cuda.matmul, 'matmul'),
                        (torch.backends.cudnn, 'conv')):
        try:
            on = legacy.allow_tf32
            switches.append((on, lambda value, flag=legacy: setattr(
                flag, 'allow_tf32', value)))
        except RuntimeError:  # set through the new API
            holder = legacy if new == 'matmul' else legacy.conv
            previous = holder.fp32_precision
            switches.append((previous == 'tf32', lambda value, h=holder, p=(
                previous): setattr(h, 'fp32_precision', p if value else
                                   'ieee')))
    return switches


@contextlib.contextmanager
def ieee_fp32(device: torch.device) -> Iterator[None]:
    """Full fp32 matrix products and convolutions on CUDA for the duration.

    TF32 (10-bit mantissa, cuDNN's default for convolutions on Ampere and
    later) would leave only noise of the Taylor terms.  A no-op elsewhere
    and where TF32 is off.
    """
    switches = _tf32_switches() if device.type == 'cuda' else []
    switches = [set_tf32 for on, set_tf32 in switches if on]
    for set_tf32 in switches:
        set_tf32(False)
    try:
        yield
    finally:
        for set_tf32 in switches:
            set_tf32(True)
