"""Resizing relative-position-bias tables by geometric-progression interpolation.

SimMIM fine-tunes at a larger window than it pre-trains (Swin 6 -> 7,
12 -> 14; ViT when the patch grid changes) and the official
``remap_pretrained_keys_{swin,vit}`` stretch each ``(2W-1) x (2W-1)`` table
so that the source offsets sit on a geometric progression (dense near 0,
sparse far away) and sample it at the integer target offsets with
``scipy.interpolate.interp2d(kind='cubic')``.  ``interp2d`` was removed in
SciPy 1.14 (and mmpretrain's ``resize_relative_position_bias_table`` still
calls it); on a rectangular grid it fitted FITPACK's interpolating bicubic
spline (``s=0``) and evaluated it with clamping, which is exactly SciPy's
``RectBivariateSpline(kx=3, ky=3, s=0)``: the resize uses that, per head, in
float64.  SciPy comes with the ``visrep[simmim]`` extra and is imported only
when a table is actually resized.

Non-square tables (``(2Wh-1) x (2Ww-1)``) are resized axis by axis with
each axis's own progression; on square tables this is exactly the official
rule.
"""
import math
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch

from visrep.extras import requires_extra

Size = Union[int, Sequence[int]]


def geometric_offsets(src: int, dst: int) -> Tuple[List[float], List[float]]:
    """Source and target offsets on one axis of a table (official rule).

    ``src`` and ``dst`` are table side lengths (``2 * window - 1``).  The
    ratio ``q`` of the progression is found by the official bisection on
    ``[1.01, 1.5]`` so that ``1 + q + ... + q**(src//2 - 1)`` reaches
    ``dst // 2``; the source offsets are ``0, +-1, +-(1 + q), ...`` and the
    target offsets the integers ``-dst//2 .. dst//2``.
    """
    half = src // 2
    left, right = 1.01, 1.5
    q = left
    while right - left > 1e-6:
        q = (left + right) / 2.0
        progression = (1.0 - q**half) / (1.0 - q)
        if progression > dst // 2:
            right = q
        else:
            left = q
    positive, current = [], 1.0
    for i in range(half):
        positive.append(current)
        current += q**(i + 1)
    source = [-d for d in reversed(positive)] + [0.0] + positive
    half_dst = dst // 2
    target = [float(t) for t in range(-half_dst, half_dst + 1)]
    return source, target


def _scipy_interpolate():
    with requires_extra('simmim', 'resizing a relative-position table'):
        from scipy import interpolate
    return interpolate


def _check_nodes(nodes: Sequence[float]) -> np.ndarray:
    x = np.asarray(nodes, dtype=np.float64)
    if len(x) < 4:
        raise ValueError(
            f'a cubic spline needs at least 4 nodes, got {len(x)}: the '
            'relative position table is too small to interpolate (window < '
            '3); use the same window for pre-training and fine-tuning.')
    if not (x[1:] > x[:-1]).all():
        raise ValueError('spline nodes must be strictly increasing.')
    return x


def cubic_spline_weights(nodes: Sequence[float],
                         points: Sequence[float]) -> torch.Tensor:
    """``W`` with ``spline(points) = W @ values`` for any values at ``nodes``.

    The spline is SciPy's interpolating cubic with the not-a-knot end
    conditions (``make_interp_spline(k=3)``, FITPACK's ``s=0`` cubic) fitted
    to the identity, i.e. one basis spline per node.  Points outside the
    nodes are clamped to the end nodes, as FITPACK's evaluation (and so
    ``interp2d``) does.  Float64, shape ``(len(points), len(nodes))``.
    """
    x = _check_nodes(nodes)
    spline = _scipy_interpolate().make_interp_spline(x, np.eye(len(x)), k=3)
    t = np.clip(np.asarray(points, dtype=np.float64), x[0], x[-1])
    return torch.from_numpy(spline(t))


def to_pair(value: Size, name: str = 'table size') -> Tuple[int, int]:
    """``(h, w)`` from an int or a pair; ``name`` is the field in errors."""
    if isinstance(value, int):
        return value, value
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(f'{name}={value!r}: give an int or (h, w).')
    return value


def resize_table(table: torch.Tensor, src_size: Size, dst_size: Size,
                 num_extra_tokens: int = 0) -> torch.Tensor:
    """Resize a ``((2Wh-1)(2Ww-1) + extra, heads)`` relative-position table.

    ``src_size``/``dst_size`` are the table sides ``(2Wh-1, 2Ww-1)`` (an int
    for square tables).  The trailing ``num_extra_tokens`` rows (ViT: the 3
    cls-token entries) are kept as they are.  Returns the table unchanged
    when the sizes agree; otherwise the geometric-progression bicubic
    resize of the official fine-tuning code (``RectBivariateSpline`` in
    float64, as ``interp2d`` fitted it), in the table's dtype and device.
    """
    src_h, src_w = to_pair(src_size, 'src_size')
    dst_h, dst_w = to_pair(dst_size, 'dst_size')
    rows, heads = table.shape
    if rows != src_h * src_w + num_extra_tokens:
        raise ValueError(
            f'table has {rows} rows, not {src_h}x{src_w} + '
            f'{num_extra_tokens} extra: wrong source window?')
    if (src_h, src_w) == (dst_h, dst_w):
        return table
    grid = table[:rows - num_extra_tokens].detach().cpu().double().T
    grid = grid.reshape(heads, src_h, src_w).numpy()
    source_h, target_h = geometric_offsets(src_h, dst_h)
    source_w, target_w = geometric_offsets(src_w, dst_w)
    source_h, source_w = _check_nodes(source_h), _check_nodes(source_w)
    spline = _scipy_interpolate().RectBivariateSpline
    resized = np.stack([
        spline(source_h, source_w, head, kx=3, ky=3, s=0)(target_h, target_w)
        for head in grid])  # (heads, dst_h, dst_w)
    out = torch.from_numpy(resized).reshape(heads, dst_h * dst_w).T
    out = out.to(dtype=table.dtype, device=table.device)
    if num_extra_tokens:
        out = torch.cat([out, table[rows - num_extra_tokens:]], dim=0)
    return out


def table_side(rows: int, num_extra_tokens: int = 0) -> int:
    """Side of a square table from its row count (official ``int(L**.5)``)."""
    side = math.isqrt(rows - num_extra_tokens)
    if side * side != rows - num_extra_tokens:
        raise ValueError(f'{rows} rows (- {num_extra_tokens} extra) is not a '
                         'square table: pass the (h, w) sides explicitly.')
    return side
