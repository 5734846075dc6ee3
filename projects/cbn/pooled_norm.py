"""Normalisation with statistics pooled over the window, with a fused backward.

Forward, per channel ``c`` (the paper's window average, as the official code):

    mu_now, var_now = batch mean and biased variance of x
    a   = 1 + number of past entries kept
    mu  = (mu_now + sum_i mu_i) / a
    var = (var_now + (mu_now - mu)^2 + sum_i [var_i + (mu_i - mu)^2]) / a
    out = (x - mu) / sqrt(var + eps) * weight + bias     (eps_in_sqrt)
        = (x - mu) / (sqrt(var) + eps) * weight + bias   (official out_p=False)

(``sum_i [var_i + (mu_i - mu)^2] + ...`` is ``avg(nu_i) - mu^2`` written
without cancellation).  The past entries ``mu_i, var_i`` are constants; the
gradient reaches ``x`` through the normalised values and through
``mu_now, var_now``, with ``d mu/d mu_now = 1/a``, ``d var/d var_now = 1/a``
and ``d var/d mu_now = 2 (mu_now - mu) / a``.

Autograd through these formulas would cost about six passes over the
activation in the backward; here the output is one call of PyTorch's
batch-norm kernel in inference form (statistics given) and the backward is
its fused training backward with rescaled statistics plus, when past
entries are pooled, one in-place addition (see ``backward``).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .workspace import cast, scratch, stat_dtype


def batch_moments(x: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance of ``(N, C, *)`` (fp32 at least).

    Two passes (the mean, then the mean squared deviation from it), each
    reduced over the contiguous positions first and then over the batch:
    on CPU about 15x faster than ``torch.var_mean`` (Welford) and as
    accurate as BatchNorm's own statistics (no ``E[x^2] - mu^2``).
    """
    dtype = stat_dtype(x.dtype)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    count = flat.shape[0] * flat.shape[2]
    sums = flat.sum((0, 2)) if flat.dtype == dtype else flat.sum(
        (0, 2), dtype=dtype)  # (without dtype: faster on CPU)
    mean = sums.div_(count)
    column = mean.view(-1, 1)
    if torch.is_grad_enabled() and flat.requires_grad:  # differentiable
        deviation = (cast(flat, dtype) - column).square()
        return mean, deviation.sum((0, 2)) / count
    deviation = torch.sub(flat, column,
                          out=scratch(flat.shape, mean)).square_()
    return mean, deviation.sum((0, 2)).div_(count)


def pool(mean: Tensor, var: Tensor, past_mean: Optional[Tensor],
         past_var: Optional[Tensor], keep: Optional[Tensor]
         ) -> Tuple[Tensor, Tensor, Tensor]:
    """Pooled ``(mu, var, a)``; ``keep`` weighs the past entries (0 or 1)."""
    if past_mean is None:
        return mean, var, torch.ones_like(mean)
    total = keep.sum(0).add_(1)
    pooled_mean = (keep * past_mean).sum(0).add_(mean).div_(total)
    past_dev = past_mean - pooled_mean
    spread = (keep * torch.addcmul(past_var, past_dev, past_dev)).sum(0)
    now_dev = mean - pooled_mean
    spread = torch.addcmul(spread, now_dev, now_dev).add_(var)
    return pooled_mean, spread.div_(total), total


class PooledNorm(torch.autograd.Function):
    """``out, mu_now, var_now = PooledNorm.apply(x, weight, bias, past_mean,
    past_var, keep, eps, eps_in_sqrt)``; ``weight``/``bias`` may be None and
    the past tensors None (no window entry yet)."""

    @staticmethod
    def forward(ctx, x, weight, bias, past_mean, past_var, keep, eps,
                eps_in_sqrt):
        mean_now, var_now = batch_moments(x)
        mean, var, total = pool(mean_now, var_now, past_mean, past_var, keep)
        if eps_in_sqrt:
            var_eff, eps_eff = var, eps
        else:  # 1/(sqrt(var) + eps) = 1/sqrt(var_eff) with eps 0
            var_eff, eps_eff = (var.sqrt() + eps)**2, 0.0
        # BatchNorm's kernel in inference form, with the pooled statistics
        out = torch.native_batch_norm(x, weight, bias, cast(mean, x.dtype),
                                      cast(var_eff, x.dtype), False, 0.0,
                                      eps_eff)[0]
        ctx.save_for_backward(x, weight, mean, var, var_eff, total)
        ctx.eps_eff, ctx.eps_in_sqrt = eps_eff, eps_in_sqrt
        ctx.has_bias = bias is not None
        ctx.pooled = past_mean is not None
        ctx.mark_non_differentiable(mean_now, var_now)
        return out, mean_now, var_now

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        x, weight, mean, var, var_eff, total = ctx.saved_tensors
        # With s = w / std the wanted gradient is
        #   grad_x = s g + A x + B,   A = -s sum(g (x - mu)) J / (a M std^2),
        #   B = -A mu - s sum(g) / (a M),   J = d var_eff / d var
        # (d mu/d mu_now = 1/a, d var/d var_now = 1/a, d var/d mu_now =
        # 2 (mu_now - mu) / a).  BatchNorm's training backward computes
        #   s' g - s' (x - m) sum(g (x - m)) / (M v^2) - s' sum(g) / M
        # for mean m, inverse std v and weight w': with m = mu,
        # v = 1 / (r std) and w' = w r, r = sqrt(a / J), it is our gradient
        # up to s sum(g) (1 - 1/a) / M, one in-place addition.
        inv_std = torch.rsqrt(var_eff + ctx.eps_eff if ctx.eps_eff else
                              var_eff)
        if ctx.eps_in_sqrt:  # J = 1
            ratio = total.sqrt()
        else:  # var_eff = (sqrt(var) + eps)^2: J = sqrt(var_eff) / std
            std = var.sqrt().clamp(min=torch.finfo(var.dtype).tiny)
            ratio = (total * std / var_eff.sqrt()).sqrt()
        scale = torch.ones_like(inv_std) if weight is None else cast(
            weight, inv_std.dtype)
        grad_in, grad_fake, grad_bias = (
            torch.ops.aten.native_batch_norm_backward(
                grad_out.contiguous(), x, cast(scale * ratio, x.dtype), None,
                None, mean, inv_std / ratio, True, ctx.eps_eff,
                [True, weight is not None, True]))
        if ctx.pooled:  # s sum(g) (1 - 1/a); 0 where no past entry was kept
            shift = cast(grad_bias, inv_std.dtype) * inv_std * scale
            shift = torch.sub(shift, shift / total)
            grad_in.add_(cast(shift, x.dtype).view(
                (1, -1) + (1, ) * (x.dim() - 2)),
                          alpha=x.shape[1] / x.numel())
        grad_weight = None
        if weight is not None:  # sum(g (x - mu)) / std = w'-gradient * r
            grad_weight = cast(cast(grad_fake, ratio.dtype) * ratio,
                               weight.dtype)
        return (grad_in, grad_weight, grad_bias if ctx.has_bias else None,
                None, None, None, None, None)
