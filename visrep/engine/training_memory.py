"""Per-rank memory of data-parallel AdamW training, from a model's shapes.

Counted from the parameters of a model, which may live on the ``meta``
device (nothing is allocated: the accounting of a model too large to build):

* :func:`state_bytes` -- the parameters, gradients, AdamW states and
  communication buffers one rank holds under a data-parallel strategy:

  - ``'ddp'``: torch ``DistributedDataParallel``; everything replicated,
    and the reducer's gradient buckets, a second copy of the gradients
    (torch's default ``gradient_as_bucket_view=False``).
  - ``'zero1'``: ZeRO stage 1 (Rajbhandari et al., SC 2020), torch's
    ``ZeroRedundancyOptimizer`` under DDP: the optimizer state is sharded
    over the ranks, the rest is DDP's.
  - ``'fsdp'``: ``FullyShardedDataParallel`` ``FULL_SHARD`` with one unit
    per module of ``unit_types`` (the rest is the root unit): parameters,
    gradients and optimizer state sharded, each unit's flat parameter padded
    to a multiple of the world size.  In flight: the root unit's gathered
    parameters and gradients (the root is not resharded after forward), two
    gathered units in backward (the current one and the prefetched one,
    ``BACKWARD_PRE``) and one unit's unsharded gradient.

* precisions: ``'fp32'``; ``'bf16'``, bf16 compute with fp32 master weights
  and AdamW moments:

  - ``fsdp``: FSDP's ``MixedPrecision(param_dtype=bf16, reduce_dtype=fp32)``:
    the sharded parameters stay fp32 (they are the master copy), and so do
    their sharded gradients; a gathered unit is bf16, its unsharded gradient
    bf16 and then fp32 for the reduce-scatter.
  - ``ddp``/``zero1``: a bf16 model with bf16 gradients, and an fp32 master
    copy next to the AdamW moments in the optimizer (sharded by ZeRO-1):
    the 2 + 2 + 12 bytes per parameter of the ZeRO paper's mixed-precision
    accounting (section 3.1), as DeepSpeed's bf16 ZeRO holds them.
    ``torch.autocast`` (mmengine's ``AmpOptimWrapper``) is not this: it
    keeps fp32 parameters and gradients and casts a bf16 copy per use.

  AdamW keeps ``exp_avg`` and ``exp_avg_sq`` (each the size of the master
  parameters) and a 4-byte ``step`` tensor per parameter tensor.

* :func:`cached_tensors` -- tensors modules keep in plain attributes
  (per-input-size caches, e.g. attention masks): memory held between steps
  besides the parameters and buffers.
* :func:`step_activation_bytes` -- the peak a training step's forward and
  backward allocate beyond that persistent state (see
  :mod:`.activation_memory`).
"""
import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple, Type

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from .activation_memory import peak_activation_bytes

STRATEGIES = ('ddp', 'zero1', 'fsdp')
PRECISIONS = ('fp32', 'bf16')
#: the dtype the model computes in (its parameters, activations, gradients)
COMPUTE_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}
#: bytes per element of the master weights and of each AdamW moment
MASTER_BYTES = 4
#: AdamW's ``step``: a float32 scalar tensor per parameter tensor
STEP_BYTES = 4


@dataclass(frozen=True)
class StateBytes:
    """Bytes one rank holds for the model's state."""
    parameters: int
    gradients: int
    optimizer: int
    communication: int


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a clear error."""
    if value not in choices:
        raise ValueError(f'{name}={value!r}: choose one of {list(choices)}.')
    return value


def check_positive_int(name: str, value) -> int:
    """``value`` as a positive int, else a clear error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name}={value!r}: give a positive int.')
    return value


def unit_numels(model: nn.Module,
                unit_types: Tuple[Type[nn.Module], ...]) -> Tuple[int,
                                                                  List[int]]:
    """``(root, units)``: the parameter counts of the FSDP root unit and of
    each outermost module of ``unit_types``."""
    units, inside = [], set()
    for module in model.modules():
        if id(module) in inside or not isinstance(module, unit_types):
            continue
        units.append(sum(p.numel() for p in module.parameters()))
        inside.update(id(m) for m in module.modules())
    total = sum(p.numel() for p in model.parameters())
    return total - sum(units), units


def state_bytes(model: nn.Module, strategy: str, world_size: int,
                precision: str = 'fp32',
                unit_types: Tuple[Type[nn.Module], ...] = ()) -> StateBytes:
    """Per-rank parameter, gradient, AdamW-state and communication bytes of
    ``model`` trained under ``strategy`` on ``world_size`` ranks."""
    check_choice('strategy', strategy, STRATEGIES)
    check_choice('precision', precision, PRECISIONS)
    world = check_positive_int('world_size', world_size)
    compute = COMPUTE_DTYPES[precision].itemsize
    tensors = sum(1 for _ in model.parameters())
    moments = 2 * MASTER_BYTES
    if strategy == 'fsdp':
        root, units = unit_numels(model, tuple(unit_types))
        local = sum(math.ceil(n / world) for n in [root] + units)
        largest = max(units, default=0)
        reduce_copy = MASTER_BYTES if compute != MASTER_BYTES else 0
        return StateBytes(
            parameters=local * MASTER_BYTES,
            gradients=local * MASTER_BYTES,
            optimizer=local * moments + math.ceil(tensors / world) *
            STEP_BYTES,
            communication=2 * root * compute + 2 * largest * compute +
            largest * (compute + reduce_copy))
    numel = sum(p.numel() for p in model.parameters())
    master = 0 if compute == MASTER_BYTES else MASTER_BYTES
    per_param_state = moments + master
    shards = world if strategy == 'zero1' else 1
    return StateBytes(
        parameters=numel * compute,
        gradients=numel * compute,
        optimizer=math.ceil(numel / shards) * per_param_state +
        math.ceil(tensors / shards) * STEP_BYTES,
        communication=numel * compute)


def cached_tensors(model: nn.Module) -> List[torch.Tensor]:
    """Tensors the modules of ``model`` keep in plain attributes, outside
    their parameters and buffers (caches built for an input size)."""
    found = []
    for module in model.modules():
        for name, value in vars(module).items():
            if name in ('_parameters', '_buffers', '_modules'):
                continue
            found += [t for t in tree_leaves(value)
                      if isinstance(t, torch.Tensor)]
    return found


def step_activation_bytes(model: nn.Module, *inputs: object) -> int:
    """Peak bytes ``model(*inputs)`` and its backward allocate beyond the
    persistent state: activations, their gradients, temporaries, the
    recomputation of checkpointed regions, each parameter's new gradient
    before it is added in place.

    As in the steady state of training: a first forward builds the caches a
    model keeps per input size (they stay; count them with
    :func:`cached_tensors`), and the parameters' gradients exist already
    (``zero_grad(set_to_none=False)``; those made here are removed after).
    """
    model(*inputs)  # per-size caches, not activations
    missing = [p for p in model.parameters()
               if p.requires_grad and p.grad is None]
    for param in missing:
        param.grad = torch.zeros_like(param)
    try:
        return peak_activation_bytes(model, *inputs)
    finally:
        for param in missing:
            param.grad = None
