"""Bank-balanced magnitude masks (Yao et al., AAAI 2019, "Balanced Sparsity").

A weight is viewed as a matrix with one row per output unit -- Linear
``[out, in]``, ConvNd ``[out, in/groups * prod(kernel)]`` (the slides: "the
weights of all kernels in one convolution layer are considered as one weight
matrix"), in PyTorch's memory order, so a conv row runs over input channels,
then kernel rows, then kernel columns.  Each row is split into *banks* of
``bank_size`` consecutive elements, and inside every bank the entries of
largest ``|w|`` are kept:

    pruned per bank = floor(s * B)        (NNI's ``int(sparsity * numel)``)
    kept per bank   = B - floor(s * B)

so every bank of every row holds the same number of non-zeros and the
realised sparsity is ``floor(s * B) / B`` (a 1e-9 guard absorbs float error
such as ``0.29 * 100 = 28.999...``).  N:M sparsity (2:4) is the case
``B = M``, ``s = 1 - N / M``.

Ties are broken by position: among equal magnitudes the entry with the
lower index in its bank is kept (a stable descending sort).  Entries pruned
by the previous mask score below every kept one, so while the sparsity
rises a pruned weight never comes back.

A row whose length is not a multiple of ``B`` is an error by default
(``partial_bank='error'``, naming the layer and the fixes); with
``partial_bank='proportional'`` the last, shorter bank of ``L`` entries
keeps ``L - floor(s * L)``.
"""
import math
from typing import Optional

import torch
from torch import Tensor

PARTIAL_BANK_RULES = ('error', 'proportional')

#: rows are sorted in chunks of about this many elements (bounds the memory
#: of the sort indices for very large layers such as VGG-16's fc6)
_CHUNK_ELEMENTS = 1 << 22


def pruned_per_bank(sparsity: float, bank_size: int) -> int:
    """``floor(sparsity * bank_size)``: how many entries a bank loses."""
    return math.floor(sparsity * bank_size + 1e-9)


def as_rows(tensor: Tensor) -> Tensor:
    """The weight-matrix view: ``[out, everything else]``."""
    return tensor.reshape(tensor.shape[0], -1)


def check_sparsity(sparsity: float, field: str = 'sparsity') -> None:
    if not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1:
        raise ValueError(f'{field}={sparsity!r}: a sparsity is a fraction of '
                         'pruned weights in [0, 1), e.g. 0.75.')


def check_bank_size(bank_size: int, field: str = 'bank_size') -> None:
    if isinstance(bank_size, bool) or not isinstance(bank_size, int) \
            or bank_size < 1:
        raise ValueError(f'{field}={bank_size!r}: a bank size is a positive '
                         'number of consecutive row elements, e.g. 4 or 32.')


def _keep_largest(scores: Tensor, keep: int) -> Tensor:
    """Boolean mask of the ``keep`` largest entries along the last axis."""
    mask = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    if keep > 0:
        order = torch.argsort(scores, dim=-1, descending=True, stable=True)
        mask.scatter_(-1, order[..., :keep], True)
    return mask


def balanced_mask(weight: Tensor,
                  sparsity: float,
                  bank_size: int,
                  prev_keep: Optional[Tensor] = None,
                  partial_bank: str = 'error',
                  name: str = 'weight') -> Tensor:
    """The keep-mask (``True`` = kept) of ``weight`` at ``sparsity``.

    Args:
        weight: a Linear or ConvNd weight (any tensor with ``dim() >= 2``).
        sparsity: fraction pruned in every bank, in ``[0, 1)``.
        bank_size: bank length ``B`` (elements of a row).
        prev_keep: the previous keep-mask; its pruned entries rank last.
        partial_bank: ``'error'`` or ``'proportional'`` (module docstring).
        name: the layer's name, for error messages.
    """
    check_sparsity(sparsity, f'{name}: sparsity')
    check_bank_size(bank_size, f'{name}: bank_size')
    if partial_bank not in PARTIAL_BANK_RULES:
        raise ValueError(f'partial_bank={partial_bank!r}: use one of '
                         f'{PARTIAL_BANK_RULES}.')
    if weight.dim() < 2:
        raise ValueError(f'{name}: a {weight.dim()}-d tensor is not a weight '
                         'matrix; only Linear/ConvNd weights can be pruned.')
    rows = as_rows(weight.detach())
    num_rows, length = rows.shape
    tail = length % bank_size
    if tail and partial_bank == 'error':
        fits = [b for b in (4, 8, 16, 32, 64) if length % b == 0]
        raise ValueError(
            f'{name}: rows of {length} elements (shape '
            f'{tuple(weight.shape)}) do not split into banks of {bank_size}. '
            f'Fix: a bank_size that divides {length} (e.g. '
            f'{fits or [length]}) for this layer via layer_cfgs, exclude '
            "the layer, or set partial_bank='proportional' to prune the last, "
            'shorter bank in proportion.')
    scores = rows.abs().float()
    if torch.isnan(scores).any():
        raise ValueError(f'{name}: the weight holds NaN; cannot rank it.')
    if prev_keep is not None:
        if prev_keep.shape != weight.shape:
            raise ValueError(f'{name}: previous mask of shape '
                             f'{tuple(prev_keep.shape)} does not match the '
                             f'weight {tuple(weight.shape)}.')
        scores = scores.masked_fill(~as_rows(prev_keep).to(scores.device),
                                    -1.0)
    keep = torch.ones(num_rows, length, dtype=torch.bool, device=rows.device)
    full = length - tail
    chunk = max(1, _CHUNK_ELEMENTS // max(length, 1))
    for start in range(0, num_rows, chunk):
        part = slice(start, start + chunk)
        if full:
            banks = scores[part, :full].reshape(-1, full // bank_size,
                                                bank_size)
            kept = bank_size - pruned_per_bank(sparsity, bank_size)
            keep[part, :full] = _keep_largest(banks, kept).reshape(-1, full)
        if tail:
            kept = tail - pruned_per_bank(sparsity, tail)
            keep[part, full:] = _keep_largest(scores[part, full:], kept)
    return keep.reshape(weight.shape)


def bank_nnz(keep: Tensor, bank_size: int) -> Tensor:
    """Kept entries per full bank, ``[rows, banks]`` (a partial tail is
    left out)."""
    rows = as_rows(keep)
    full = rows.shape[1] - rows.shape[1] % bank_size
    return rows[:, :full].reshape(rows.shape[0], -1,
                                  bank_size).sum(-1, dtype=torch.int64)
