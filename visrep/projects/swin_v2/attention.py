"""Scaled cosine window attention with the log-spaced continuous position bias.

Swin V2 (eqs. 2-4) as the official ``WindowAttention`` computes it::

    Attn(q, k, v) = softmax(cos(q, k) * s + B + M) v,
    s = exp(min(logit_scale, log 100))       (per head, logit_scale0 = log 10)
    B = 16 * sigmoid(cpb_mlp(log-spaced relative coords))[index]
    M = 0 / -100 shift mask

with ``qkv = Linear(C, 3C, bias=False)`` plus ``q_bias`` and ``v_bias``
parameters and a constant zero k bias.  Parameter names follow the official
checkpoints (``logit_scale``, ``cpb_mlp.{0,2}``, ``qkv``, ``q_bias``,
``v_bias``, ``proj``).  Works for 2-D and 3-D windows alike.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .windows import log_spaced_coords_table, relative_position_index

LOGIT_SCALE_MAX = math.log(1.0 / 0.01)


class WindowAttentionV2(nn.Module):
    """Window multi-head self-attention of Swin V2 (official ``WindowAttention``).

    Args:
        dim: channels.
        num_heads: attention heads.
        window_size: window size per axis (2 for images, 3 for videos).
        pretrained_window_size: the window the position bias was trained
            with; relative coordinates are normalised by it (0: by the
            current window).
        qkv_bias: learn ``q_bias`` and ``v_bias`` (k bias stays zero).
        attn_drop: dropout on the attention weights.
        proj_drop: dropout after the output projection.
        cpb_hidden: hidden width of the position-bias MLP (512 officially).
        fused: the fast path (default): the logit scale folded into the
            normalised queries and position bias + shift mask added as one
            mask, computed by ``F.scaled_dot_product_attention`` on CUDA and
            by two matmuls and an in-place add on CPU (where PyTorch has no
            SDPA kernel for a learned float mask, and its fallback computes
            bf16 in fp32; see ``benchmarks/README.md``; set
            :attr:`use_sdpa` to force either).  ``False``: the reference
            path in the official order.  Both give the same values and
            gradients (tested).
    """

    def __init__(self,
                 dim: int,
                 num_heads: int,
                 window_size: Sequence[int],
                 pretrained_window_size: Sequence[int] = (0, 0),
                 qkv_bias: bool = True,
                 attn_drop: float = 0.0,
                 proj_drop: float = 0.0,
                 cpb_hidden: int = 512,
                 fused: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'WindowAttentionV2: dim={dim} is not divisible '
                             f'by num_heads={num_heads}.')
        self.dim = dim
        self.num_heads = num_heads
        self.window_size = tuple(window_size)
        self.pretrained_window_size = tuple(pretrained_window_size)
        if len(self.pretrained_window_size) != len(self.window_size):
            raise ValueError(
                f'pretrained_window_size={self.pretrained_window_size} must '
                f'have one entry per window axis ({len(self.window_size)}).')
        self.fused = fused
        #: run the fast path through SDPA: None = on CUDA tensors only
        self.use_sdpa: Optional[bool] = None
        self.attn_drop = attn_drop

        self.logit_scale = nn.Parameter(
            torch.full((num_heads, 1, 1), math.log(10.0)))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(len(self.window_size), cpb_hidden, bias=True),
            nn.ReLU(inplace=True),
            nn.Linear(cpb_hidden, num_heads, bias=False))
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

        # derived from the window size only: not saved in checkpoints
        self.register_buffer(
            'relative_coords_table',
            log_spaced_coords_table(self.window_size,
                                    self.pretrained_window_size),
            persistent=False)
        self.register_buffer(
            'relative_position_index',
            relative_position_index(self.window_size), persistent=False)
        self._geometry: Dict[Tuple[int, ...], Tuple[torch.Tensor,
                                                    torch.Tensor]] = {}
        #: eval cache: (key, cpb_mlp weights it was computed with, bias)
        self._eval_bias: Optional[tuple] = None

    # ------------------------------------------------------------ geometry
    def _tables(self, window: Tuple[int, ...]):
        """Coordinates table and index for ``window`` (clipped windows too)."""
        if window == self.window_size:
            return self.relative_coords_table, self.relative_position_index
        device = self.relative_coords_table.device
        cached = self._geometry.get(window)
        if cached is None or cached[0].device != device:
            cached = (log_spaced_coords_table(
                window, self.pretrained_window_size).to(device),
                      relative_position_index(window).to(device))
            self._geometry[window] = cached
        return cached

    def position_bias(self, window: Optional[Tuple[int, ...]] = None
                      ) -> torch.Tensor:
        """``16 * sigmoid(cpb_mlp(table))[index]``: ``(num_heads, N, N)``.

        Computed once per block forward.  Without gradients (eval) it is
        cached and reused while the ``cpb_mlp`` weights are equal to the
        ones it was computed with -- compared by value, since weights may
        change without a version bump (``param.data`` updates, as
        mmengine's EMA does); the comparison reads the MLP's few thousand
        weights instead of evaluating it on every table entry.
        """
        window = tuple(window or self.window_size)
        caching = not torch.is_grad_enabled()
        if caching:
            key = (window, torch.is_autocast_enabled('cpu'),
                   torch.is_autocast_enabled('cuda'))
            cached = self._eval_bias
            if cached is not None and cached[0] == key and all(
                    torch.equal(p, q) for p, q in zip(
                        self.cpb_mlp.parameters(), cached[1])):
                return cached[2]
        table, index = self._tables(window)
        bias = self.cpb_mlp(table.to(self.cpb_mlp[0].weight.dtype))
        bias = bias.view(-1, self.num_heads)[index.view(-1)]
        n = index.shape[0]
        bias = 16 * torch.sigmoid(bias.view(n, n, -1).permute(2, 0, 1))
        if caching:
            weights = [p.detach().clone() for p in self.cpb_mlp.parameters()]
            self._eval_bias = (key, weights, bias)
        return bias

    # ------------------------------------------------------------ forward
    def _qkv(self, x: torch.Tensor):
        if self.q_bias is None:
            qkv = self.qkv(x)
        else:
            bias = torch.cat(
                (self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
            qkv = F.linear(x, self.qkv.weight, bias)
        batch, tokens, _ = x.shape
        qkv = qkv.view(batch, tokens, 3, self.num_heads, -1)
        # one copy into head-major order: the normalisations and batched
        # matmuls below then read contiguous memory (no per-op copies)
        qkv = qkv.permute(2, 0, 3, 1, 4).contiguous()
        return qkv.unbind(0)  # 3 x (B_, nH, N, hd)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                window: Optional[Tuple[int, ...]] = None) -> torch.Tensor:
        """Attention inside each window.

        Args:
            x: ``(B * num_windows, N, C)`` tokens of the windows.
            mask: ``(num_windows, N, N)`` shift mask (0 / -100) or None.
            window: the window these tokens come from, if clipped.
        """
        batch_windows, tokens, channels = x.shape
        q, k, v = self._qkv(x)
        scale = torch.clamp(self.logit_scale, max=LOGIT_SCALE_MAX).exp()
        bias = self.position_bias(window)  # nH, N, N
        if mask is not None:
            num_windows = mask.shape[0]
            shape = (-1, num_windows, self.num_heads, tokens,
                     channels // self.num_heads)
            q, k, v = q.view(shape), k.view(shape), v.view(shape)
            bias = bias.unsqueeze(0) + mask.unsqueeze(1).to(bias.dtype)
        dropout = self.attn_drop if self.training else 0.0
        if self.fused:
            # cos(q, k) * s = (q * s / |q|) . (k / |k|): one pass over q
            q = q * (scale / q.norm(dim=-1, keepdim=True).clamp_min(1e-12))
            k = F.normalize(k, dim=-1)
            use_sdpa = x.is_cuda if self.use_sdpa is None else self.use_sdpa
            if use_sdpa:
                out = F.scaled_dot_product_attention(
                    q, k, v, attn_mask=bias.to(q.dtype), dropout_p=dropout,
                    scale=1.0)
            else:
                attn = (q @ k.transpose(-2, -1)).add_(bias.to(q.dtype))
                attn = F.dropout(attn.softmax(dim=-1), dropout, self.training)
                out = attn @ v
        else:
            attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(
                -2, -1)
            attn = torch.softmax(attn * scale + bias, dim=-1)
            attn = F.dropout(attn, dropout, self.training)
            out = attn @ v
        out = out.reshape(batch_windows, self.num_heads, tokens, -1)
        out = out.transpose(1, 2).reshape(batch_windows, tokens, channels)
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return (f'dim={self.dim}, num_heads={self.num_heads}, '
                f'window_size={self.window_size}, pretrained_window_size='
                f'{self.pretrained_window_size}, fused={self.fused}')
