"""The Swin V2 transformer block (res-post-norm) and its MLP."""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import StochasticDepth

from .attention import WindowAttentionV2
from .windows import (fit_window, shift_attention_mask, window_partition,
                      window_reverse)


class Mlp(nn.Module):
    """``fc1 -> GELU -> dropout -> fc2 -> dropout`` (official ``Mlp``)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinV2Block(nn.Module):
    """Swin V2 block with residual post-normalisation (official behaviour).

    ``x = x + drop_path(norm1(attn(x)))``; ``x = x + drop_path(norm2(mlp(x)))``
    -- the LayerNorm sits on the residual branch before the addition.  The
    attention runs in (shifted) windows; a window is clipped to a small map
    by ``window_clip`` (see :func:`.windows.fit_window`), and a map that is
    not a multiple of the window is padded at the bottom/right before the
    cyclic shift (as Swin's detection and segmentation code does).

    Args:
        dim: channels.
        num_heads: attention heads.
        window_size: window per axis.
        shift: shift the windows by half a window (odd blocks of a stage).
        pretrained_window_size: see :class:`WindowAttentionV2`.
        mlp_ratio: MLP hidden width / ``dim``.
        qkv_bias: learn q and v biases.
        drop: dropout after the MLP layers and the projection.
        attn_drop: dropout on attention weights.
        drop_path: stochastic-depth rate of both residual branches.
        extra_norm: add a LayerNorm on the main branch after the block (the
            H/G "extra norm every 6 layers", as mmpretrain places it).
        window_clip: ``'official'``, ``'per_axis'`` or ``'pad'``.
        fused_attention: the fast attention path (else the reference),
            see :class:`WindowAttentionV2`.
        attn_chunk_size: sequential self-attention, windows per chunk
            (None/0: off), see :class:`WindowAttentionV2`.
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: Sequence[int],
                 shift: bool = False,
                 pretrained_window_size: Sequence[int] = (0, 0),
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 drop: float = 0.0,
                 attn_drop: float = 0.0,
                 drop_path: float = 0.0,
                 extra_norm: bool = False,
                 window_clip: str = 'official',
                 fused_attention: bool = True,
                 attn_chunk_size: Optional[int] = None):
        super().__init__()
        self.window_size = tuple(window_size)
        self.shift_size = tuple(w // 2 if shift else 0
                                for w in self.window_size)
        self.window_clip = window_clip
        fit_window(self.window_size, self.window_size, self.shift_size,
                   window_clip)  # validates the rule name
        self.attn = WindowAttentionV2(
            dim, num_heads, self.window_size, pretrained_window_size,
            qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop,
            fused=fused_attention, attn_chunk_size=attn_chunk_size)
        self.norm1 = nn.LayerNorm(dim)
        self.drop_path = StochasticDepth(drop_path, mode='row')
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim) if extra_norm else None
        self._masks: Dict[tuple, torch.Tensor] = {}

    def _shift_mask(self, padded: Tuple[int, ...], window: Tuple[int, ...],
                    shift: Tuple[int, ...], device) -> torch.Tensor:
        key = (padded, window, shift, device)
        mask = self._masks.get(key)
        if mask is None:
            mask = shift_attention_mask(padded, window, shift).to(device)
            if not torch.compiler.is_compiling():  # else: in the graph
                self._masks[key] = mask
        return mask

    def _window_attention(self, x: torch.Tensor) -> torch.Tensor:
        spatial = tuple(x.shape[1:-1])
        window, shift = fit_window(spatial, self.window_size,
                                   self.shift_size, self.window_clip)
        pad = [(-s) % w for s, w in zip(spatial, window)]
        if any(pad):
            # F.pad takes the last axis first: (C, ..., axis1, axis0)
            widths = [0, 0]
            for p in reversed(pad):
                widths += [0, p]
            x = F.pad(x, widths)
        padded = tuple(x.shape[1:-1])
        axes = tuple(range(1, 1 + len(spatial)))
        if any(shift):
            x = torch.roll(x, shifts=[-s for s in shift], dims=axes)
            mask = self._shift_mask(padded, window, shift, x.device)
        else:
            mask = None
        windows = window_partition(x, window)
        windows = self.attn(windows, mask=mask, window=window)
        x = window_reverse(windows, window, padded)
        if any(shift):
            x = torch.roll(x, shifts=list(shift), dims=axes)
        if any(pad):
            x = x[(slice(None), ) + tuple(slice(0, s) for s in spatial)]
        return x

    def _residuals(self, x: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.norm1(attn))
        x = x + self.drop_path(self.norm2(self.mlp(x)))
        if self.norm3 is not None:
            x = self.norm3(x)
        return x

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None,
                window: Optional[Tuple[int, ...]] = None) -> torch.Tensor:
        """The block on a raster map, or on tokens in window order.

        Without ``window``: ``x`` is ``(B, *spatial, C)``, channels last.
        With ``window``: ``x`` is ``(B, L, C)``, this block's (shifted)
        windows one after another, and ``mask`` their shift mask (None
        without shift).  Everything but attention is per token, so the
        result stays in window order (see ``SwinV2Stage``).  Both go through
        the module call, so a wrapper of the block (FSDP's per-block unit,
        activation checkpointing) sees every use.
        """
        if window is None:
            if mask is not None:
                raise ValueError('SwinV2Block: mask is for tokens in window '
                                 'order; pass window= with it.')
            return self._residuals(x, self._window_attention(x))
        batch, length, channels = x.shape
        windows = x.view(-1, math.prod(window), channels)
        attn = self.attn(windows, mask=mask, window=window)
        return self._residuals(x, attn.view(batch, length, channels))
