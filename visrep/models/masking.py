"""The SimMIM mask token, inserted after a backbone's patch embedding.

Every masked backbone (Swin V1 here, Swin V2 and SimMIM's ViT in their
plugins) is its plain backbone plus a ``[1, 1, C]`` mask
token: ``x * (1 - w) + mask_token * w`` right after the patch embedding
(after Swin's patch norm, before absolute position embeddings, the CLS
token and dropout), exactly where the official ``*ForSimMIM`` encoders put
it.  The plain forward is reused unchanged: a forward hook on the patch
embedding substitutes the tokens while a mask is set.
"""
from typing import Optional

import torch
from torch import nn

from .official_init import DEFAULT_BOUND, official_trunc_normal_


def blend_mask_token(tokens: torch.Tensor, mask: torch.Tensor,
                     mask_token: torch.Tensor) -> torch.Tensor:
    """``tokens * (1 - w) + mask_token * w``; ``tokens`` ``(B, ..., C)``,
    ``mask`` ``(B, h, w)`` with one entry per token."""
    count = tokens[..., 0].numel() // tokens.shape[0]
    if mask[0].numel() != count:
        raise ValueError(
            f'mask has {mask[0].numel()} entries per image, the patch '
            f'embedding {count} tokens: set the mask generator\'s '
            'input_size/model_patch_size to the crop and the backbone patch.')
    w = mask.reshape(tokens.shape[:-1] + (1, )).to(tokens.dtype)
    return tokens * (1. - w) + mask_token.to(tokens.dtype) * w


class MaskTokenMixin:
    """Adds ``mask_token`` and ``forward(x, mask=None)`` to a backbone.

    Call :meth:`_init_mask_token` in ``__init__`` after the base class has
    built ``self.patch_embed``.  ``mask_token_trunc`` is the truncation of
    its ``trunc_normal(std=0.02)`` init: ``None`` = timm's default bounds
    (+-2, Swin), or +-std (the official SimMIM ViT).
    """

    def _init_mask_token(self, embed_dims: int,
                         mask_token_trunc: Optional[float] = None) -> None:
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self._mask_token_trunc = mask_token_trunc
        self._active_mask: Optional[torch.Tensor] = None
        self.patch_embed.register_forward_hook(self._insert_mask_token)

    def _reset_mask_token(self) -> None:
        bound = self._mask_token_trunc
        official_trunc_normal_(self.mask_token,
                               DEFAULT_BOUND if bound is None else bound)

    def _insert_mask_token(self, module, inputs, output):
        mask = self._active_mask
        if mask is None:
            return output
        if isinstance(output, tuple):  # mmpretrain: (tokens, hw_shape)
            return (blend_mask_token(output[0], mask, self.mask_token),
                    ) + tuple(output[1:])
        return blend_mask_token(output, mask, self.mask_token)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None):
        """The plain forward; masked tokens replaced when ``mask`` is set."""
        if mask is None:
            return super().forward(x)
        self._active_mask = mask
        try:
            return super().forward(x)
        finally:
            self._active_mask = None
