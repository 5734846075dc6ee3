"""Resizing relative-position-bias tables by geometric-progression interpolation.

SimMIM fine-tunes at a larger window than it pre-trains (Swin 6 -> 7,
12 -> 14; ViT when the patch grid changes) and the official
``remap_pretrained_keys_{swin,vit}`` stretch each ``(2W-1) x (2W-1)`` table
so that the source offsets sit on a geometric progression (dense near 0,
sparse far away) and sample it at the integer target offsets with
``scipy.interpolate.interp2d(kind='cubic')``.  ``interp2d`` was removed in
SciPy 1.14 (and mmpretrain's ``resize_relative_position_bias_table`` still
calls it), so the spline is computed here: on a rectangular grid
``interp2d`` fits FITPACK's interpolating bicubic spline (``s=0``), whose
knots sit on the interior data points -- the tensor product of 1-D
*not-a-knot* cubic splines.  It is applied as one linear map per axis,
``out = W_h @ table @ W_w.T``, built in float64.

Non-square tables (``(2Wh-1) x (2Ww-1)``) are resized axis by axis with
each axis's own progression; on square tables this is exactly the official
rule.
"""
import math
from typing import List, Sequence, Tuple, Union

import torch

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


def cubic_spline_weights(nodes: Sequence[float],
                         points: Sequence[float]) -> torch.Tensor:
    """``W`` with ``spline(points) = W @ values`` for any values at ``nodes``.

    The spline is the interpolating cubic with the not-a-knot end
    conditions (third derivative continuous at the second and the
    second-to-last node), i.e. FITPACK's ``s=0`` cubic.  Points outside the
    nodes are clamped to the end nodes, as FITPACK's evaluation (and so
    ``interp2d``) does.  Float64, shape ``(len(points), len(nodes))``.
    """
    x = torch.as_tensor(nodes, dtype=torch.float64)
    n = len(x)
    if n < 4:
        raise ValueError(
            f'a cubic spline needs at least 4 nodes, got {n}: the relative '
            'position table is too small to interpolate (window < 3); use '
            'the same window for pre-training and fine-tuning.')
    if not bool((x[1:] > x[:-1]).all()):
        raise ValueError('spline nodes must be strictly increasing.')
    h = x[1:] - x[:-1]
    # second derivatives M solve A @ M = B @ y
    a = torch.zeros(n, n, dtype=torch.float64)
    b = torch.zeros(n, n, dtype=torch.float64)
    for i in range(1, n - 1):
        a[i, i - 1], a[i, i + 1] = h[i - 1], h[i]
        a[i, i] = 2 * (h[i - 1] + h[i])
        b[i, i - 1], b[i, i], b[i, i + 1] = (6 / h[i - 1],
                                             -6 / h[i - 1] - 6 / h[i],
                                             6 / h[i])
    # not-a-knot: (M1 - M0) / h0 == (M2 - M1) / h1, same at the other end
    a[0, 0], a[0, 1], a[0, 2] = h[1], -(h[0] + h[1]), h[0]
    a[-1, -3], a[-1, -2], a[-1, -1] = h[-1], -(h[-2] + h[-1]), h[-2]
    second = torch.linalg.solve(a, b)  # (n, n): M = second @ y

    t = torch.as_tensor(points, dtype=torch.float64).clamp(x[0], x[-1])
    interval = torch.searchsorted(x, t, right=True) - 1
    interval = interval.clamp(0, n - 2)
    left, right = x[interval], x[interval + 1]
    width = right - left
    wl, wr = (right - t) / width, (t - left) / width
    rows = torch.arange(len(t))
    values = torch.zeros(len(t), n, dtype=torch.float64)
    values[rows, interval] += wl
    values[rows, interval + 1] += wr
    curvature = torch.zeros(len(t), n, dtype=torch.float64)
    curvature[rows, interval] += (wl**3 - wl) * width**2 / 6
    curvature[rows, interval + 1] += (wr**3 - wr) * width**2 / 6
    return values + curvature @ second


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
    resize of the official fine-tuning code, in the table's dtype.
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
    grid = table[:rows - num_extra_tokens].double().T.reshape(
        heads, src_h, src_w)
    weights_h = cubic_spline_weights(*geometric_offsets(src_h, dst_h))
    weights_w = cubic_spline_weights(*geometric_offsets(src_w, dst_w))
    grid = weights_h @ grid @ weights_w.T  # (heads, dst_h, dst_w)
    out = grid.reshape(heads, dst_h * dst_w).T.to(table.dtype)
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
