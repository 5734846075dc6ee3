"""How the tokens of a Swin V2 stage move between its blocks' windows.

When no block of a stage needs padding, the stage keeps its tokens in
window order: one gather per block moves them from the previous block's
(shifted) windows to the next block's, one more back to raster order at the
end -- instead of roll, partition, reverse and roll back in every block.
The plan says, per block, which gather to apply (None when the order is
already right), the block's shift mask (None without shift) and its
window.  Everything is derived from sizes: the Python structure by
:func:`plan_layout`, the tensors by :func:`plan_tensors`.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .windows import (fit_window, is_raster_order, shift_attention_mask,
                      window_order)

Size = Tuple[int, ...]
#: a block's (window_size, shift_size, window_clip)
BlockLayout = Tuple[Size, Size, str]
#: per block (window, shift, gathers), and whether the stage gathers back
Layout = Tuple[List[Tuple[Size, Size, bool]], bool]
#: per block (gather (index, inverse) or None, shift mask or None, window),
#: and the gather back to raster order (or None)
Plan = Tuple[List[tuple], Optional[Tuple[torch.Tensor, torch.Tensor]]]


def _layout(spatial: Size, window: Size, shift: Size) -> tuple:
    """``(window, shift)`` with the shift taken modulo each axis: blocks
    with equal layouts put the tokens in the same order."""
    if is_raster_order(spatial, window, shift):
        return (spatial, (0, ) * len(spatial))  # every raster layout alike
    return window, tuple(s % size for s, size in zip(shift, spatial))


def plan_layout(spatial: Size,
                blocks: Sequence[BlockLayout]) -> Optional[Layout]:
    """Per block ``(window, shift, gathers)`` and whether the stage gathers
    back to raster order at the end; None when a block needs padding (the
    stage then runs on the raster map).  Sizes only: no tensor, so it costs
    nothing in a compiled graph."""
    steps, previous = [], None
    for window_size, shift_size, clip in blocks:
        window, shift = fit_window(spatial, window_size, shift_size, clip)
        if any(size % w for size, w in zip(spatial, window)):
            return None
        layout = _layout(spatial, window, shift)
        same = layout == previous if previous is not None else \
            is_raster_order(spatial, window, shift)
        steps.append((window, shift, not same))
        previous = layout
    return steps, not is_raster_order(spatial, *previous)


def plan_tensors(spatial: Size, layout: Layout
                 ) -> Dict[Tuple[int, str], torch.Tensor]:
    """The tensors of :func:`plan_layout`'s ``layout`` (CPU), one pass over
    the blocks: ``(step, 'index' | 'inverse')`` of each gather and ``(step,
    'mask')`` of each shifted block; ``step == len(blocks)``: the gather
    back to raster order.
    """
    steps, gathers_back = layout
    tensors = {}
    position = None  # position[r]: where raster token r is now
    for step, (window, shift, gathers) in enumerate(steps):
        order = window_order(spatial, window, shift)
        if gathers:
            index = order if position is None else position[order]
            tensors[step, 'index'] = index
            tensors[step, 'inverse'] = torch.argsort(index)
        if any(shift):
            tensors[step, 'mask'] = shift_attention_mask(spatial, window,
                                                         shift)
        position = torch.argsort(order)
    if gathers_back:
        tensors[len(steps), 'index'] = position
        tensors[len(steps), 'inverse'] = torch.argsort(position)
    return tensors


def window_plan(spatial: Size, blocks: Tuple[BlockLayout, ...],
                device: torch.device) -> Optional[Plan]:
    """The stage's plan on ``device``, or None when a block needs padding.

    Callers cache it; under ``torch.compile`` it is computed in the graph
    (from sizes only: no graph break)."""
    layout = plan_layout(spatial, blocks)
    if layout is None:
        return None
    tensors = plan_tensors(spatial, layout)
    return assemble_plan(layout, lambda step, field: tensors[step, field].to(
        device))


def assemble_plan(layout: Layout,
                  tensor: Callable[[int, str], torch.Tensor]) -> Plan:
    """The plan of :func:`plan_layout`'s ``layout``, taking each tensor
    from ``tensor(step, field)`` (fields as in :func:`plan_tensors`)."""
    steps, gathers_back = layout
    plan = []
    for step, (window, shift, gathers) in enumerate(steps):
        gather = (tensor(step, 'index'), tensor(step, 'inverse')) \
            if gathers else None
        mask = tensor(step, 'mask') if any(shift) else None
        plan.append((gather, mask, window))
    back = (tensor(len(steps), 'index'), tensor(len(steps), 'inverse')) \
        if gathers_back else None
    return plan, back
