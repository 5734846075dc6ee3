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


def batch_moments(x: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance of ``(N, C, *)`` (fp32 at least).

    Reduced per sample over the contiguous positions, then combined
    (``var = avg(var_n) + avg((mean_n - mean)^2)``): much faster on CPU than
    a reduction over the strided dims ``(0, 2, 3, ...)``.
    """
    dtype = torch.promote_types(x.dtype, torch.float32)
    flat = x.reshape(x.shape[0], x.shape[1], -1).to(dtype)
    var, mean = torch.var_mean(flat, dim=2, correction=0)
    total_mean = mean.mean(0)
    return total_mean, var.mean(0) + ((mean - total_mean)**2).mean(0)


def pool(mean: Tensor, var: Tensor, past_mean: Optional[Tensor],
         past_var: Optional[Tensor], keep: Optional[Tensor]
         ) -> Tuple[Tensor, Tensor, Tensor]:
    """Pooled ``(mu, var, a)``; ``keep`` weighs the past entries (0 or 1)."""
    if past_mean is None:
        return mean, var, torch.ones_like(mean)
    total = 1 + keep.sum(0)
    pooled_mean = (mean + (keep * past_mean).sum(0)) / total
    spread = (mean - pooled_mean)**2 + (keep * (
        (past_mean - pooled_mean)**2 + past_var)).sum(0)
    return pooled_mean, (var + spread) / total, total


class PooledNorm(torch.autograd.Function):
    """``out, mu_now, var_now = PooledNorm.apply(x, weight, bias, past_mean,
    past_var, keep, eps, eps_in_sqrt)``; ``weight``/``bias`` may be None and
    the past tensors None (no window entry yet)."""

    @staticmethod
    def forward(ctx, x, weight, bias, past_mean, past_var, keep, eps,
                eps_in_sqrt):
        channels = x.shape[1]
        mean_now, var_now = batch_moments(x)
        mean, var, total = pool(mean_now, var_now, past_mean, past_var, keep)
        if eps_in_sqrt:
            var_eff, eps_eff = var, eps
        else:  # 1/(sqrt(var) + eps) = 1/sqrt(var_eff) with eps 0
            var_eff, eps_eff = (var.sqrt() + eps)**2, 0.0
        scale = weight if weight is not None else x.new_ones(channels)
        out = torch.batch_norm(x, scale, bias, mean.to(x.dtype),
                               var_eff.to(x.dtype), False, 0.0, eps_eff,
                               False)
        ctx.save_for_backward(x, scale, mean, var, var_eff, total)
        ctx.eps_eff, ctx.eps_in_sqrt = eps_eff, eps_in_sqrt
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        ctx.mark_non_differentiable(mean_now, var_now)
        return out, mean_now, var_now

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        x, scale, mean, var, var_eff, total = ctx.saved_tensors
        # With s = w / std the wanted gradient is
        #   grad_x = s g + A x + B,   A = -s sum(g (x - mu)) J / (a M std^2),
        #   B = -A mu - s sum(g) / (a M),   J = d var_eff / d var
        # (d mu/d mu_now = 1/a, d var/d var_now = 1/a, d var/d mu_now =
        # 2 (mu_now - mu) / a).  BatchNorm's training backward computes
        #   s' g - s' (x - m) sum(g (x - m)) / (M v^2) - s' sum(g) / M
        # for mean m, inverse std v and weight w': with m = mu,
        # v = sqrt(J / a) / std and w' = s / v it is our gradient up to
        # s sum(g) (1 - 1/a) / M, one in-place addition.
        inv_std = torch.rsqrt(var_eff + ctx.eps_eff)
        jacobian = torch.ones_like(var)
        if not ctx.eps_in_sqrt:  # var_eff = (sqrt(var) + eps)^2
            std = var.sqrt().clamp(min=torch.finfo(var.dtype).tiny)
            jacobian = var_eff.sqrt() / std
        fake_inv_std = inv_std * (jacobian / total).sqrt()
        step = scale.to(inv_std.dtype) * inv_std  # s = w / std
        grad_in, grad_fake, grad_bias = (
            torch.ops.aten.native_batch_norm_backward(
                grad_out.contiguous(), x, (step / fake_inv_std).to(x.dtype),
                None, None, mean, fake_inv_std, True, ctx.eps_eff,
                [True, ctx.has_weight, True]))
        count = x.numel() // x.shape[1]
        if bool((total > 1).any()):
            shift = step * grad_bias.to(step.dtype) * (1 - 1 / total) / count
            view = (1, -1) + (1, ) * (x.dim() - 2)
            grad_in.add_(shift.to(x.dtype).view(view))
        grad_weight = None
        if ctx.has_weight:  # sum(g (x - mu)) / std
            grad_weight = (grad_fake.to(inv_std.dtype) * inv_std /
                           fake_inv_std).to(scale.dtype)
        return (grad_in, grad_weight, grad_bias if ctx.has_bias else None,
                None, None, None, None, None)
