"""The two attention terms of the disentangled non-local block, as functions.

Tokens are laid out ``(N, L, C)`` (batch, positions, channels).  Paper eq. 6
(Yin et al., ECCV 2020)::

    w_pair(i, j) = softmax_j( (q_i - mu_q) . (k_j - mu_k) * s )
    w_unary(j)   = softmax_j( m_j )

``mu`` is the *whitening* mean; the official code has several variants, two
of which matter (``nonlocal_block_nowd.py``):

* ``'scalar'`` -- ``ln_nostd``: ONE mean per sample over all ``C' x L``
  entries; what the released Cityscapes / ADE20K / PASCAL Context configs use;
* ``'channel'`` -- ``in_nostd``: the per-channel mean over positions; the
  paper's formula, and what mmseg's ``DisentangledNonLocal2d`` does.

``None`` disables whitening (the embedded-Gaussian non-local block).
"""
from typing import Optional

import torch

WHITEN_MODES = ('scalar', 'channel', None)


def whiten(tokens: torch.Tensor, mode: Optional[str]) -> torch.Tensor:
    """Subtract the whitening mean of ``tokens`` ``(N, L, C)`` (no std)."""
    if mode is None:
        return tokens
    if mode == 'scalar':
        return tokens - tokens.mean(dim=(1, 2), keepdim=True)
    if mode == 'channel':
        return tokens - tokens.mean(dim=1, keepdim=True)
    raise ValueError(f'whiten={mode!r}: choose one of {WHITEN_MODES} '
                     "('scalar' = official ln_nostd, 'channel' = paper / "
                     'mmseg in_nostd, None = no whitening).')


def pairwise_weights(query: torch.Tensor, key: torch.Tensor,
                     whiten_mode: Optional[str],
                     logit_scale: float = 1.0) -> torch.Tensor:
    """Whitened pairwise attention ``(N, L, L')``; each row sums to 1.

    ``logit_scale`` multiplies the logits (``1/sqrt(C')`` for ``use_scale``,
    divided by the temperature); it is applied to the ``(N, L, C')`` queries
    rather than to the ``(N, L, L')`` logits, which is the same product and
    saves a pass over the large matrix.
    """
    query = whiten(query, whiten_mode)
    key = whiten(key, whiten_mode)
    if logit_scale != 1.0:
        query = query * logit_scale
    return torch.bmm(query, key.transpose(1, 2)).softmax(dim=-1)


def unary_weights(mask_logits: torch.Tensor) -> torch.Tensor:
    """Unary (saliency) attention ``(N, L', 1)``: softmax over positions."""
    return mask_logits.softmax(dim=1)
