"""Low-level helpers shared by the CBN modules: a reusable scratch buffer
for the large temporaries, and dtype handling without dispatched no-ops.

Each CBN training step needs weight-sized products (the ``d nu`` inner
products) and an activation-sized deviation (the batch variance).  Fresh
allocations of that size are returned to the operating system when freed
and page-faulted in again at the next use, which on CPU costs more than the
arithmetic (measured: a 9 MiB product took 9.8 ms instead of 0.5 ms inside a
ResNet-50 step).  All layers share one buffer per thread, device and dtype,
grown to the largest request: a few MiB, resident once.

Small tensor operations cost about 10 us each inside a training step (cold
caches between the convolutions), several times their cost in isolation, so
the CBN code avoids dispatching ones that do nothing: ``t.to(t.dtype)`` and
``torch.promote_types`` are answered in Python here.
"""
import contextlib
import threading
from typing import Dict, Iterator, Tuple

import torch
from torch import Tensor

_LOCAL = threading.local()
_STAT_DTYPES = (torch.float32, torch.float64)


def stat_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype statistics are kept in: fp32 at least (fp64 stays fp64)."""
    return dtype if dtype in _STAT_DTYPES else torch.float32


def cast(tensor: Tensor, dtype: torch.dtype) -> Tensor:
    """``tensor.to(dtype)``, without a dispatched call when it is a no-op."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


def scratch(shape: Tuple[int, ...], like: Tensor) -> Tensor:
    """An uninitialised tensor of ``shape`` with ``like``'s dtype and device,
    valid until the next call from the same thread.

    The views are cached per shape (a step asks for the same few shapes in
    every iteration): no tensor operation is dispatched on a cache hit.
    """
    shape = tuple(shape)
    cache: Dict[tuple, Tensor] = getattr(_LOCAL, 'cache', None)
    if cache is None:
        cache = _LOCAL.cache = {}
        _LOCAL.buffers = {}
    key = (like.device, like.dtype, shape)
    view = cache.get(key)
    if view is not None:
        return view
    buffers: Dict[tuple, Tensor] = _LOCAL.buffers
    numel = 1
    for size in shape:
        numel *= size
    buffer = buffers.get(key[:2])
    if buffer is None or buffer.numel() < numel:
        buffer = buffers[key[:2]] = torch.empty(
            numel, dtype=like.dtype, device=like.device)
        for old in [k for k in cache if k[:2] == key[:2]]:
            del cache[old]  # views of the smaller buffer
    view = cache[key] = buffer[:numel].view(shape)
    return view


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

    The window's numbers are differences of large, nearly equal terms
    (``<d, W_t> - <d, W_tau>``, ``<dnu, W> - 2 (var + mu <dmu, W>)``):
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
