"""Activation memory of a layer, counted from tensor storages (no CUDA needed).

* :func:`saved_activation_bytes` -- the bytes a forward keeps for backward
  (``torch.autograd.graph.saved_tensors_hooks``): what a layer holds while
  the rest of the network runs.  Tensors saved inside a checkpointed region
  are recomputed in backward, so they are not kept and do not count.
* :func:`storage_bytes` -- the bytes of the storages under some tensors
  (parameters, optimizer state), each counted once.
* :func:`peak_activation_bytes` -- the peak of the tensor memory a forward
  and its backward allocate, alive at once (a ``TorchDispatchMode`` sees
  every operator, the recomputation of checkpointed regions included).

Both count each storage once (views and in-place results share it; a
storage is told by its C++ object, so tensors on the ``meta`` device, which
have no data, are counted too: the accounting of a model too large to run).
Memory planners and the tests of memory-saving switches use them.
"""
import weakref
from typing import Callable, Dict, Iterable, Sequence, Set

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def _storage_key(tensor: torch.Tensor) -> int:
    """The identity of the tensor's storage (the address of its C++ object;
    meta tensors have no data pointer)."""
    return tensor.untyped_storage()._cdata


def _storage_bytes(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage().nbytes()


def storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages under ``tensors`` (what a process
    really holds, however many views share a storage)."""
    return sum({_storage_key(t): _storage_bytes(t) for t in tensors}.values())


def _tensors(objects: Iterable[object]) -> Sequence[torch.Tensor]:
    """The tensors of ``objects``: tensors, and the parameters and buffers
    of modules."""
    found = []
    for obj in objects:
        if isinstance(obj, torch.nn.Module):
            found += list(obj.parameters()) + list(obj.buffers())
        elif isinstance(obj, torch.Tensor):
            found.append(obj)
    return found


def saved_activation_bytes(fn: Callable[..., object], *inputs: object,
                           exclude: Iterable[object] = ()) -> int:
    """Bytes of the distinct storages ``fn(*inputs)`` saves for backward.

    ``exclude``: tensors or modules (their parameters and buffers) whose
    storages are not activations and do not count -- usually the layer
    itself.  The inputs count when the layer saves them.
    """
    excluded = {_storage_key(t) for t in _tensors(exclude)}
    saved: Dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = _storage_key(tensor)
        if key not in excluded:
            saved[key] = _storage_bytes(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(*inputs)
    return sum(saved.values())


class _LiveStorages(TorchDispatchMode):
    """Bytes of the storages the operators allocate, alive at once: current
    and peak.  A result that shares an operand's storage (a view, an
    in-place result) is no allocation."""

    def __init__(self):
        super().__init__()
        self.live: Dict[int, int] = {}
        self.current = 0
        self.peak = 0
        self._refs: Set[weakref.ref] = set()

    def _free(self, key: int, ref: weakref.ref) -> None:
        self._refs.discard(ref)
        self.current -= self.live.pop(key, 0)

    def _track(self, tensor: torch.Tensor, operands: Set[int]) -> None:
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key in self.live or key in operands:
            return
        ref = weakref.ref(storage, lambda r, k=key: self._free(k, r))
        self._refs.add(ref)
        self.live[key] = storage.nbytes()
        self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        operands = {_storage_key(t) for t in tree_leaves((args, kwargs))
                    if isinstance(t, torch.Tensor)}
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                self._track(tensor, operands)
        return out


def peak_activation_bytes(fn: Callable[..., object], *inputs: object) -> int:
    """Peak bytes of tensor memory ``fn(*inputs)`` and its backward allocate
    (what existed before the call, parameters and inputs, is not counted).

    The backward starts from the sum of every floating-point output that
    requires grad (its gradient is ones); activations, temporaries and the
    gradients of inputs and parameters all count, at the moment they are
    alive together.  Run on CPU, one thread is enough (the figure does not
    depend on it).
    """
    with _LiveStorages() as tracker:
        outputs = [t for t in tree_leaves(fn(*inputs))
                   if isinstance(t, torch.Tensor) and t.requires_grad]
        if outputs:
            torch.autograd.backward(
                outputs, [torch.ones_like(t) for t in outputs])
        del outputs
    return tracker.peak
