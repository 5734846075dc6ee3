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

Sequential self-attention (paper section 3.4): with ``attn_chunk_size`` set,
the windows are attended a chunk at a time and each chunk is recomputed in
backward, so that only one chunk's attention matrices are ever alive.
"""
import math
import numbers
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from .windows import log_spaced_coords_table, relative_position_index

LOGIT_SCALE_MAX = math.log(1.0 / 0.01)


def check_attn_chunk_size(value) -> Optional[int]:
    """``attn_chunk_size`` as windows per chunk, or None when off (None, 0)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < 0:
        raise ValueError(
            f'attn_chunk_size={value!r}: give the number of windows per '
            f'attention chunk as a positive int (e.g. 16), or None / 0 to '
            f'attend to all windows at once.')
    return int(value) or None


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
        attn_chunk_size: sequential self-attention: attend to this many
            windows at a time (of the ``B * num_windows`` in a batch), and
            with gradients enabled recompute each chunk in backward
            (non-reentrant ``torch.utils.checkpoint``), so that only one
            chunk's attention matrices are alive.  None or 0 (default): all
            windows at once.  Same values and gradients (tested).
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
                 fused: bool = True,
                 attn_chunk_size: Optional[int] = None):
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
        self.attn_chunk_size = check_attn_chunk_size(attn_chunk_size)
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
            if not torch.compiler.is_compiling():  # else: in the graph
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
        weights instead of evaluating it on every table entry.  Under
        ``torch.compile`` the table is computed in the graph instead (a
        value comparison there would be a data-dependent graph break).
        """
        window = tuple(window or self.window_size)
        caching = not (torch.is_grad_enabled()
                       or torch.compiler.is_compiling())
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

    def train(self, mode: bool = True):
        """Back to training drops the no-grad bias cache: it holds
        ``num_heads * N * N`` values per block (for SwinV2-G at 640 px,
        window 40, about 27 GB over the 42 blocks of stage 3) that training
        never reads."""
        if mode:
            self._eval_bias = None
        return super().train(mode)

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
        qkv = qkv.permute(2, 0, 3, 1, 4)
        if not torch.compiler.is_compiling():
            # eager: one copy into head-major order, so that the
            # normalisations and batched matmuls below read contiguous
            # memory (no per-op copies).  Compiled: inductor's fused
            # normalisation kernels read the strided q and k directly, and
            # this copy would only add a pass over q, k and v
            qkv = qkv.contiguous()
        return qkv.unbind(0)  # 3 x (B_, nH, N, hd)

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None,
                window: Optional[Tuple[int, ...]] = None) -> torch.Tensor:
        """Attention inside each window.

        Args:
            x: ``(B * num_windows, N, C)`` tokens of the windows, batch-major
                (the windows of the first image, then of the second, ...).
            mask: ``(num_windows, N, N)`` shift mask (0 / -100) or None.
            window: the window these tokens come from, if clipped.
        """
        scale = torch.clamp(self.logit_scale, max=LOGIT_SCALE_MAX).exp()
        bias = self.position_bias(window)  # nH, N, N
        if self.attn_chunk_size:
            out = self._attend_sequentially(x, scale, bias, mask)
        else:
            out = self._attend_all(x, scale, bias, mask)
        return self.proj_drop(self.proj(out))

    def _attend_all(self, x: torch.Tensor, scale: torch.Tensor,
                    bias: torch.Tensor,
                    mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Every window at once; ``(B * nW, N, C)`` before the projection."""
        q, k, v = self._qkv(x)
        if mask is not None:
            # (B, nW, ...): the mask broadcasts over the images
            shape = (-1, mask.shape[0]) + q.shape[1:]
            q, k, v = q.view(shape), k.view(shape), v.view(shape)
            bias = bias.unsqueeze(0) + mask.unsqueeze(1).to(bias.dtype)
        return self._merge_heads(self._attend(q, k, v, scale, (bias, )),
                                 x.shape)

    def _attend_sequentially(self, x: torch.Tensor, scale: torch.Tensor,
                             bias: torch.Tensor,
                             mask: Optional[torch.Tensor]) -> torch.Tensor:
        """``attn_chunk_size`` windows at a time, each chunk recomputed in
        backward; ``(B * nW, N, C)`` before the projection."""
        recompute = torch.is_grad_enabled()
        outs = []
        for start in range(0, x.shape[0], self.attn_chunk_size):
            args = (x[start:start + self.attn_chunk_size], scale, bias, mask,
                    start)
            outs.append(cp.checkpoint(self._attend_chunk, *args,
                                      use_reentrant=False)
                        if recompute else self._attend_chunk(*args))
        return torch.cat(outs)

    def _attend_chunk(self, x: torch.Tensor, scale: torch.Tensor,
                      bias: torch.Tensor, mask: Optional[torch.Tensor],
                      start: int) -> torch.Tensor:
        """Windows ``start ... start + len(x) - 1`` of the batch.

        Window ``i`` sits at position ``i % num_windows`` of its image, so
        that is the row of the shift mask it takes; the mask is added after
        the position bias (no per-window copy of the bias is made).
        """
        q, k, v = self._qkv(x)
        biases = (bias, )
        if mask is not None:
            rows = torch.arange(start, start + x.shape[0],
                                device=mask.device) % mask.shape[0]
            biases += (mask.index_select(0, rows).unsqueeze(1).to(
                bias.dtype), )
        return self._merge_heads(self._attend(q, k, v, scale, biases),
                                 x.shape)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                scale: torch.Tensor,
                biases: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``softmax(cos(q, k) * scale + sum(biases)) v`` over the last two
        axes (any leading ones); the biases broadcast to the logits."""
        dropout = self.attn_drop if self.training else 0.0
        if self.fused:
            # cos(q, k) * s = (q * s / |q|) . (k / |k|): one pass over q
            q = q * (scale / q.norm(dim=-1, keepdim=True).clamp_min(1e-12))
            k = F.normalize(k, dim=-1)
            use_sdpa = q.is_cuda if self.use_sdpa is None else self.use_sdpa
            if use_sdpa:
                attn_mask = biases[0]
                for extra in biases[1:]:
                    attn_mask = attn_mask + extra
                return F.scaled_dot_product_attention(
                    q, k, v, attn_mask=attn_mask.to(q.dtype),
                    dropout_p=dropout, scale=1.0)
            attn = q @ k.transpose(-2, -1)
            for extra in biases:
                attn.add_(extra.to(q.dtype))
            attn = F.dropout(attn.softmax(dim=-1), dropout, self.training)
            return attn @ v
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(
            -2, -1)
        attn = attn * scale
        for extra in biases:
            attn = attn + extra
        attn = F.dropout(torch.softmax(attn, dim=-1), dropout, self.training)
        return attn @ v

    def _merge_heads(self, out: torch.Tensor,
                     shape: torch.Size) -> torch.Tensor:
        """``(..., nH, N, hd)`` -> ``(B_, N, C)`` for an input of ``shape``."""
        batch_windows, tokens, channels = shape
        out = out.reshape(batch_windows, self.num_heads, tokens, -1)
        return out.transpose(1, 2).reshape(batch_windows, tokens, channels)

    def extra_repr(self) -> str:
        return (f'dim={self.dim}, num_heads={self.num_heads}, '
                f'window_size={self.window_size}, pretrained_window_size='
                f'{self.pretrained_window_size}, fused={self.fused}, '
                f'attn_chunk_size={self.attn_chunk_size}')
