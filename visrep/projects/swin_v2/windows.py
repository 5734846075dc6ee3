"""Window geometry of Swin V2, for 2-D images and 3-D videos alike.

Everything here is derived from sizes only (no parameters): the log-spaced
relative-coordinate table fed to the continuous position bias, the relative
position index that gathers it, window partition/reverse, the cyclic-shift
attention mask, and the rule that clips a window to a small feature map.
"""
import math
from typing import List, Sequence, Tuple

import torch

Size = Tuple[int, ...]


WINDOW_CLIP_RULES = ('official', 'per_axis', 'pad')


def fit_window(feature_size: Sequence[int], window_size: Sequence[int],
               shift_size: Sequence[int],
               rule: str = 'official') -> Tuple[Size, Size]:
    """The window and shift a block uses on a feature map of this size.

    * ``'official'`` (default; ``SwinTransformerBlock`` of the official
      code): if ``min(feature_size) <= min(window_size)``, the window becomes
      ``min(feature_size)`` on every axis and nothing is shifted.
    * ``'per_axis'`` (timm): each axis whose size is not larger than the
      window gets the window clipped to it and no shift; other axes keep
      theirs.  Equal to ``'official'`` on square maps with square windows.
    * ``'pad'`` (mmpretrain's ``pad_small_map``): never clip; the block pads
      the map up to whole windows.
    """
    if rule not in WINDOW_CLIP_RULES:
        raise ValueError(f'window_clip={rule!r}: choose one of '
                         f'{WINDOW_CLIP_RULES}.')
    if rule == 'pad':
        return tuple(window_size), tuple(shift_size)
    if rule == 'official':
        smallest = min(feature_size)
        if smallest <= min(window_size):
            return (smallest, ) * len(window_size), (0, ) * len(window_size)
        return tuple(window_size), tuple(shift_size)
    window = tuple(min(f, w) for f, w in zip(feature_size, window_size))
    shift = tuple(0 if f <= w else s
                  for f, w, s in zip(feature_size, window_size, shift_size))
    return window, shift


def log_spaced_coords_table(window_size: Sequence[int],
                            pretrained_window_size: Sequence[int]) -> torch.Tensor:
    """Relative coordinates mapped as in the official code (Swin V2, eq. 4).

    Offsets in ``[-(W-1), W-1]`` per axis, divided by ``P-1`` for the
    pretrained window ``P`` (or ``W-1`` when ``P`` is 0), times 8, then
    ``sign(x) * log2(|x| + 1) / log2(8)``.  An axis of size 1 has only the
    offset 0 and is left at 0.  Returns ``(1, 2W0-1, 2W1-1[, ...], ndim)``.
    """
    axes = [torch.arange(-(w - 1), w, dtype=torch.float32) for w in window_size]
    table = torch.stack(torch.meshgrid(*axes, indexing='ij'), dim=-1)
    for axis, (w, p) in enumerate(zip(window_size, pretrained_window_size)):
        span = (p if p > 0 else w) - 1
        if span > 0:
            table[..., axis] /= span
    table = table * 8
    table = torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)
    return table.unsqueeze(0)


def relative_position_index(window_size: Sequence[int]) -> torch.Tensor:
    """``(N, N)`` index of every token pair's offset in the coordinates table."""
    coords = torch.stack(
        torch.meshgrid(*[torch.arange(w) for w in window_size], indexing='ij'))
    coords = coords.flatten(1)  # ndim, N
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    index = torch.zeros(relative.shape[:2], dtype=torch.long)
    for axis, w in enumerate(window_size):
        stride = math.prod(2 * v - 1 for v in window_size[axis + 1:])
        index += (relative[..., axis] + w - 1) * stride
    return index


def window_partition(x: torch.Tensor, window_size: Sequence[int]) -> torch.Tensor:
    """``(B, *spatial, C)`` -> ``(B * num_windows, prod(window_size), C)``."""
    batch, *spatial, channels = x.shape
    ndim = len(spatial)
    shape = [batch]
    for size, w in zip(spatial, window_size):
        shape += [size // w, w]
    x = x.view(shape + [channels])
    # (B, n0, w0, n1, w1, ..., C) -> (B, n0, n1, ..., w0, w1, ..., C)
    order = [0] + [1 + 2 * i for i in range(ndim)] + \
        [2 + 2 * i for i in range(ndim)] + [1 + 2 * ndim]
    return x.permute(order).reshape(-1, math.prod(window_size), channels)


def window_reverse(windows: torch.Tensor, window_size: Sequence[int],
                   spatial: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`window_partition` for a map of size ``spatial``."""
    ndim = len(spatial)
    counts = [s // w for s, w in zip(spatial, window_size)]
    channels = windows.shape[-1]
    x = windows.view([-1] + counts + list(window_size) + [channels])
    # (B, n0, n1, ..., w0, w1, ..., C) -> (B, n0, w0, n1, w1, ..., C)
    order = [0]
    for i in range(ndim):
        order += [1 + i, 1 + ndim + i]
    order.append(1 + 2 * ndim)
    return x.permute(order).reshape([-1] + list(spatial) + [channels])


def shift_attention_mask(spatial: Sequence[int], window_size: Sequence[int],
                         shift_size: Sequence[int]) -> torch.Tensor:
    """``(num_windows, N, N)`` mask of the shifted windows: 0 or -100.

    After the cyclic shift a window can hold tokens from up to 2^ndim
    regions that were not neighbours; pairs from different regions get -100
    (the official value) so that softmax ignores them.
    """
    regions = torch.zeros(1, *spatial, 1)
    label = 0
    per_axis: List[List[slice]] = []
    for w, s in zip(window_size, shift_size):
        per_axis.append([slice(0, -w), slice(-w, -s), slice(-s, None)]
                        if s > 0 else [slice(None)])
    for index in _product(per_axis):
        regions[(slice(None), ) + index] = label
        label += 1
    windows = window_partition(regions, window_size).squeeze(-1)  # nW, N
    mask = windows[:, None, :] - windows[:, :, None]
    return mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)


def window_order(spatial: Sequence[int], window_size: Sequence[int],
                 shift_size: Sequence[int]) -> torch.Tensor:
    """Raster index of each token in (shifted) window order.

    ``x.flatten(1, -2)[:, window_order(...)]`` equals
    ``window_partition(roll(x, -shift), window)`` flattened over windows;
    it needs ``spatial`` to be a multiple of the window.
    """
    raster = torch.arange(math.prod(spatial)).view(1, *spatial, 1)
    if any(shift_size):
        raster = torch.roll(raster, shifts=[-s for s in shift_size],
                            dims=tuple(range(1, 1 + len(spatial))))
    return window_partition(raster, window_size).flatten()


def is_raster_order(spatial: Sequence[int], window_size: Sequence[int],
                    shift_size: Sequence[int]) -> bool:
    """Whether :func:`window_order` is the identity, from the sizes alone.

    The roll is the identity when every shift is a multiple of its axis;
    the partition's permute ``(n0, w0, n1, w1, ...) -> (n0, n1, ..., w0,
    w1, ...)`` is the identity when the axes longer than 1 keep their
    order.  Decided without looking at tensor values, so that it costs no
    data-dependent op (no graph break) under ``torch.compile``.
    """
    if any(s % size for s, size in zip(shift_size, spatial)):
        return False
    # (label, length) of each dim of the reshaped map: n = window count,
    # w = position inside the window, per axis
    dims = [(('n', axis), size // w) for axis, (size, w) in
            enumerate(zip(spatial, window_size))]
    dims += [(('w', axis), w) for axis, w in enumerate(window_size)]
    raster = [dims[i + k * len(spatial)] for i in range(len(spatial))
              for k in (0, 1)]  # n0, w0, n1, w1, ...
    return [label for label, n in raster if n > 1] == \
        [label for label, n in dims if n > 1]


class PermuteTokens(torch.autograd.Function):
    """``x[:, index]`` whose backward is the inverse gather (no scatter-add)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, index: torch.Tensor,
                inverse: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return x.index_select(1, index)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        inverse, = ctx.saved_tensors
        return grad.index_select(1, inverse), None, None


def _product(options: List[List[slice]]) -> List[tuple]:
    combos: List[tuple] = [()]
    for choices in options:
        combos = [c + (s, ) for c in combos for s in choices]
    return combos
