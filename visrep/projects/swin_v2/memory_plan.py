"""Per-rank GPU memory of training a Swin V2 classifier, T to G, planned.

What one rank holds in a training step of a Swin V2 backbone with a linear
classification head (global average pooling, ``num_classes``) and AdamW,
under DDP, ZeRO-1 or FSDP, with activation checkpointing per block
(``with_cp``) and sequential self-attention (``attn_chunk_size``), alone or
combined, in fp32 or bf16 mixed precision (see
:mod:`visrep.engine.training_memory` for what each strategy and precision
holds).

Method: the model is built on the ``meta`` device (shapes, no data), so
nothing of a 3-billion-parameter model is allocated, and

* parameters, gradients, AdamW states and communication buffers are
  counted from its parameters (:func:`~visrep.engine.training_memory.
  state_bytes`; FSDP units are the blocks, as
  :func:`.fsdp_wrap.swin_v2_block_wrap_policy` wraps them);
* buffers and caches are the storages of the buffers and of the tensors
  the modules cache per input size (shift masks, window orders);
* activations are counted by running one forward and backward of the
  **whole network** on the meta device through the real code
  (:func:`~visrep.engine.training_memory.step_activation_bytes`): every
  stage, block, patch merging and checkpointed or chunked region as it
  runs, at the requested batch and resolution.  Nothing is extrapolated
  (the order in which the backward frees saved tensors decides which block
  sets the peak); it takes seconds for G.

**Peak** (:attr:`MemoryPlan.total`) = parameters + gradients + optimizer
states + buffers and caches + communication buffers + the activation peak,
where the activation peak is the most tensor memory a forward and its
backward allocate alive at once beyond that persistent state: the
activations kept for backward, their gradients, temporaries, the
recomputation of checkpointed blocks and attention chunks, and each
parameter's new gradient before it is added in place.  Gradients are
counted as held through the step (``zero_grad(set_to_none=False)``); with
torch's default ``set_to_none=True`` the real peak is lower by at most the
gradient bytes.  Not counted: the input batch, the optimizer step's own
temporaries (after the activations are freed), the CUDA context and the
allocator's fragmentation.

The attention is counted on its explicit path (two matmuls and a softmax,
the attention matrices materialised), the path the backbone takes on CPU or
with ``use_sdpa=False``; on CUDA the fused path's SDPA kernel may keep less.
"""
import functools
import json
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from visrep.engine.activation_memory import storage_bytes
from visrep.engine.training_memory import (COMPUTE_DTYPES, PRECISIONS,
                                           StateBytes, cached_tensors,
                                           check_choice, check_positive_int,
                                           state_bytes,
                                           step_activation_bytes)
from .block import SwinV2Block
from .swin_transformer_v2 import SwinTransformerV2

GIB = 2**30
#: the windows of the paper's resolutions (pre-training 192 px; fine-tuning
#: 256 / 384 / 640 px; 1536 px for COCO)
PAPER_WINDOWS = {192: 12, 256: 16, 384: 24, 640: 40, 1536: 32}
#: plans whose activation accounting is kept (the CLI's grid reuses them)
_CACHE_SIZE = 256


@dataclass(frozen=True)
class MemoryPlan:
    """Bytes one rank holds at the peak of a training step (module doc)."""
    parameters: int
    gradients: int
    optimizer: int
    buffers: int
    communication: int
    activations: int

    @property
    def total(self) -> int:
        return (self.parameters + self.gradients + self.optimizer +
                self.buffers + self.communication + self.activations)

    def fits(self, gib: float) -> bool:
        """Whether the peak fits in ``gib`` GiB."""
        return self.total <= gib * GIB


class _Classifier(nn.Module):
    """Backbone, global average pooling and a linear head (mmpretrain's
    ``ImageClassifier`` with ``LinearClsHead``)."""

    def __init__(self, backbone: SwinTransformerV2, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.num_features[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1].mean((2, 3)))


def default_window(img_size: int) -> int:
    """The paper's window at its resolutions, else ``img_size // 16``."""
    return PAPER_WINDOWS.get(img_size, max(img_size // 16, 1))


def build_classifier(arch: Union[str, dict], window_size: int,
                     with_cp: bool = False,
                     attn_chunk_size: Union[None, int, Sequence] = None,
                     num_classes: int = 1000,
                     device: str = 'meta',
                     img_size: int = 256) -> nn.Module:
    """The planned model, in training mode, on ``device``."""
    with torch.device(device):
        backbone = SwinTransformerV2(
            arch, img_size=img_size, window_size=window_size,
            with_cp=with_cp,
            attn_chunk_size=attn_chunk_size, drop_path_rate=0.0)
        return _Classifier(backbone, num_classes).train()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _activations_and_buffers(arch_json: str, img_size: int, window_size: int,
                             batch_size: int, with_cp: bool,
                             chunks_json: str, precision: str,
                             num_classes: int) -> Tuple[int, int]:
    """Activation peak and buffer + cache bytes (the settings that decide
    them, JSON-encoded where they may be dicts or lists: cached by value)."""
    arch, attn_chunk_size = json.loads(arch_json), json.loads(chunks_json)
    dtype = COMPUTE_DTYPES[precision]
    model = build_classifier(arch, window_size, with_cp, attn_chunk_size,
                             num_classes, img_size=img_size).to(dtype)
    x = torch.empty(batch_size, 3, img_size, img_size, device='meta',
                    dtype=dtype)
    activations = step_activation_bytes(model, x)
    buffers = storage_bytes(list(model.buffers()) + cached_tensors(model))
    return activations, buffers


def plan_memory(arch: Union[str, dict] = 'giant',
                img_size: int = 640,
                window_size: Optional[int] = None,
                batch_size: int = 1,
                world_size: int = 1,
                strategy: str = 'ddp',
                with_cp: bool = False,
                attn_chunk_size: Union[None, int, Sequence] = None,
                precision: str = 'fp32',
                num_classes: int = 1000) -> MemoryPlan:
    """Per-rank memory of one training step (see the module doc).

    Args:
        arch: a Swin V2 arch (``'tiny'`` ... ``'giant'``, ``t`` ... ``g``)
            or an arch dict (:class:`.SwinTransformerV2`).
        img_size: square input side, pixels.
        window_size: attention window (default :func:`default_window`).
        batch_size: images per rank.
        world_size: data-parallel ranks.
        strategy: ``'ddp'``, ``'zero1'`` or ``'fsdp'``.
        with_cp: activation checkpointing per block.
        attn_chunk_size: sequential self-attention, windows per chunk (one
            int or one per stage; None/0: off).
        precision: ``'fp32'`` or ``'bf16'`` (fp32 master weights).
        num_classes: classes of the linear head.
    """
    check_choice('precision', precision, PRECISIONS)
    for name, value in (('img_size', img_size), ('batch_size', batch_size),
                        ('world_size', world_size),
                        ('num_classes', num_classes)):
        check_positive_int(name, value)
    window = check_positive_int(
        'window_size',
        default_window(img_size) if window_size is None else window_size)
    model = build_classifier(arch, window, with_cp, attn_chunk_size,
                             num_classes, img_size=img_size)
    state: StateBytes = state_bytes(model, strategy, world_size, precision,
                                    unit_types=(SwinV2Block, ))
    activations, buffers = _activations_and_buffers(
        json.dumps(arch, sort_keys=True), img_size, window, batch_size,
        bool(with_cp), json.dumps(attn_chunk_size), precision, num_classes)
    return MemoryPlan(parameters=state.parameters,
                      gradients=state.gradients,
                      optimizer=state.optimizer, buffers=buffers,
                      communication=state.communication,
                      activations=activations)


def block_activation_bytes(dim: int, num_heads: int, window_size: int,
                           side: int, batch_size: int = 1,
                           attn_chunk_size: Optional[int] = None,
                           precision: str = 'fp32') -> int:
    """Activation peak of one shifted block's forward and backward on a
    ``side`` x ``side`` map (what :func:`plan_memory` counts per block)."""
    check_choice('precision', precision, PRECISIONS)
    dtype = COMPUTE_DTYPES[precision]
    with torch.device('meta'):
        block = SwinV2Block(dim, num_heads, (window_size, window_size),
                            shift=True, attn_chunk_size=attn_chunk_size)
    block = block.to(dtype).train()
    x = torch.empty(batch_size, side, side, dim, device='meta', dtype=dtype,
                    requires_grad=True)
    return step_activation_bytes(block, x)
