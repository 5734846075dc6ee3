"""Replaying a CBN layer's per-channel arithmetic as CUDA graphs.

A training step of a CBN layer issues dozens of kernels on vectors of
``C`` numbers (compensation, the drop rule, pooling, the backward factors,
the running statistics, the new window entry).  On a GPU each costs more
host time to launch than device time to run, so launching them, not
running them, is what they cost (figures: ``benchmarks/README.md``).
These operations read and write only tensors that stay in place from step
to step (the window's storage, the layer's parameters and buffers, the
layer's step buffers, :mod:`.step_buffers`), so they are captured once per
window layout (the slot the new entry goes to and the slots in use: at
most ``capacity`` layouts once the window is full) and replayed: one
launch for all of them.

The first time a layout is met the operations run eagerly (warm-up: a
layout that occurs only while the window fills is never captured); the
second time they are captured and replayed.  A replay runs the same kernels
as the eager call, so the results are the same bit for bit.  The graphs
are dropped when any of the tensors they touch moves (``module.to``, a
loaded window).  Off CUDA, inside another capture (a user's own CUDA graph)
or with ``cuda_graphs=False`` the operations simply run.
"""
from typing import Callable, Dict, Hashable, Optional, Sequence, Set

import torch
from torch import Tensor

_SHARED: Dict[int, tuple] = {}  # per device: (pool, side stream, keeper)


def _capture(pool, stream, fn: Callable[[], None]):
    """A CUDA graph of ``fn`` (not run), captured on the side ``stream``
    into the memory ``pool``."""
    graph = torch.cuda.CUDAGraph()
    current = torch.cuda.current_stream(stream.device)
    stream.wait_stream(current)
    with torch.cuda.stream(stream):
        # thread_local: CUDA calls of other threads (data loading, DDP's
        # communication) stay legal during the capture
        graph.capture_begin(pool=pool, capture_error_mode='thread_local')
        try:
            fn()
        finally:
            graph.capture_end()
    current.wait_stream(stream)
    return graph


def _pool_and_stream(device: torch.device):
    """One memory pool for all the graphs of a device (their temporaries
    are small) and the side stream they are captured on.  The pool is
    kept alive by a graph of its own: PyTorch frees a pool, and refuses
    its handle, once no graph uses it."""
    index = device.index if device.index is not None else \
        torch.cuda.current_device()
    if index not in _SHARED:
        pool = torch.cuda.graph_pool_handle()
        stream = torch.cuda.Stream(device=index)
        keeper = _capture(
            pool, stream,
            lambda: torch.zeros(1, device=torch.device('cuda', index)))
        _SHARED[index] = (pool, stream, keeper)
    return _SHARED[index][:2]


class GraphedSteps:
    """Runs ``fn()`` for a layout ``key``, replaying a CUDA graph of it from
    the second call with that key on; ``touched``: every tensor ``fn``
    reads or writes that lives across calls (their addresses are checked)."""

    def __init__(self) -> None:
        self._graphs: Dict[Hashable, 'torch.cuda.CUDAGraph'] = {}
        self._seen: Set[Hashable] = set()
        self._addresses: Optional[tuple] = None

    def clear(self) -> None:
        self._graphs.clear()
        self._seen.clear()
        self._addresses = None

    def __len__(self) -> int:
        return len(self._graphs)

    def __call__(self, key: Hashable, touched: Sequence[Tensor],
                 fn: Callable[[], None]) -> bool:
        """Run (or replay) ``fn``; True if a graph was replayed."""
        device = touched[0].device
        if device.type != 'cuda' or torch.cuda.is_current_stream_capturing():
            fn()
            return False
        addresses = tuple(t.data_ptr() for t in touched)
        if addresses != self._addresses:
            self.clear()
            self._addresses = addresses
        graph = self._graphs.get(key)
        if graph is None:
            if key not in self._seen:
                self._seen.add(key)
                fn()
                return False
            graph = self._graphs[key] = _capture(*_pool_and_stream(device),
                                                 fn)
        graph.replay()
        return True
