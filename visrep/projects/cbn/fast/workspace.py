"""A reusable scratch buffer for CBN's large temporaries.

Each training step of a CBN layer needs weight-sized products (the ``d nu``
inner products of the window) and an activation-sized deviation (the batch
variance).  A fresh allocation of that size is returned to the operating
system when freed and page-faulted in again at the next use, every step.
All layers instead share one buffer per thread, device and dtype, grown to
the largest request and resident once.  The figures are in
``visrep/projects/cbn/README.md`` ("Speed and memory").
"""
import threading
from typing import Dict, Tuple

import torch
from torch import Tensor

_LOCAL = threading.local()


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
