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
entries are pooled, one in-place addition (see :class:`NormWithStats`).
Everything per channel -- the pooled statistics and the factors the
backward needs -- is computed in the forward by :func:`coefficients`, as
one ``(6, C)`` tensor: the layer computes it in one place from tensors
that stay where they are (a CUDA graph replays it, see
:mod:`.fast.cuda_graph`).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .fast.gpu_routes import var_mean_into
from .fast.workspace import scratch
from .precision import cast, stat_dtype

#: rows of the coefficient tensor (see coefficients)
MEAN, VAR_EFF, BACKWARD_WEIGHT, BACKWARD_INV_STD, SHIFT, RATIO = range(6)


def batch_moments(x: Tensor, out: Optional[Tensor] = None
                  ) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance of ``(N, C, *)`` (fp32 at least),
    into the rows of ``out`` (``(2, C)``) when given.

    Two passes (the mean, then the mean squared deviation from it), each
    reduced over the contiguous positions first and then over the batch,
    as accurate as BatchNorm's own statistics (no ``E[x^2] - mu^2``); the
    deviation goes into the shared scratch buffer (:mod:`.fast.workspace`).
    Off CPU, for fp32/fp64, one ``var_mean`` call instead (fast route,
    :func:`.fast.gpu_routes.var_mean_into`).
    """
    dtype = stat_dtype(x.dtype)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    if out is None:
        out = flat.new_empty((2, flat.shape[1]), dtype=dtype)
    if torch.is_grad_enabled() and flat.requires_grad:  # differentiable
        mean = cast(flat, dtype).mean((0, 2))
        deviation = (cast(flat, dtype) - mean.view(-1, 1)).square()
        return mean, deviation.mean((0, 2))
    if flat.device.type != 'cpu' and flat.dtype == dtype:  # fast route
        return var_mean_into(flat, out)
    mean, var = out.unbind(0)
    if flat.dtype == dtype:  # dtype= only where it converts
        torch.mean(flat, (0, 2), out=mean)
    else:
        torch.mean(flat, (0, 2), dtype=dtype, out=mean)
    deviation = torch.sub(flat, mean.view(-1, 1),
                          out=scratch(flat.shape, mean)).square_()
    torch.mean(deviation, (0, 2), out=var)
    return mean, var


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


def coefficients(mean: Tensor, var: Tensor, total: Tensor,
                 weight: Optional[Tensor], eps: float, eps_in_sqrt: bool,
                 count: Tensor, out: Optional[Tensor] = None) -> Tensor:
    """The ``(6, C)`` per-channel factors of :class:`NormWithStats` for the
    pooled ``mean``, ``var`` of ``total`` entries and ``count`` values per
    channel in the batch (a one-element tensor): rows ``MEAN``, ``VAR_EFF``
    (the variance given to the batch-norm kernel), ``BACKWARD_WEIGHT``,
    ``BACKWARD_INV_STD``, ``SHIFT``, ``RATIO`` (see ``NormWithStats``).

    With ``s = w / std`` the wanted input gradient is
    ``grad_x = s g + A x + B``, ``A = -s sum(g (x - mu)) J / (a M std^2)``,
    ``B = -A mu - s sum(g) / (a M)``, ``J = d var_eff / d var``.
    BatchNorm's training backward computes ``s' g - s' (x - m) sum(g (x -
    m)) / (M v^2) - s' sum(g) / M`` for mean ``m``, inverse std ``v`` and
    weight ``w'``: with ``m = mu``, ``v = 1 / (r std)`` and ``w' = w r``,
    ``r = sqrt(a / J)`` (``RATIO``), it is our gradient up to ``s sum(g) (1
    - 1/a) / M``, which ``SHIFT`` times ``sum(g)`` adds back.
    """
    if eps_in_sqrt:  # J = 1
        var_eff = var
        inv_std = torch.rsqrt(var + eps)
        ratio = total.sqrt()
    else:  # var_eff = (sqrt(var) + eps)^2 with eps 0: J = sqrt(var_eff)/std
        std = var.sqrt()
        var_eff = (std + eps).square_()
        inv_std = torch.rsqrt(var_eff)
        ratio = torch.mul(total, std.clamp_(min=torch.finfo(var.dtype).tiny)
                          ).mul_(inv_std).sqrt_()
    scale = inv_std if weight is None else cast(weight, inv_std.dtype) * \
        inv_std  # s
    rows = [mean, var_eff,
            ratio if weight is None else ratio * cast(weight, ratio.dtype),
            inv_std / ratio,
            # s (1 - 1/a) / M
            torch.sub(scale, scale / total).div_(count), ratio]
    return torch.stack(rows, out=out)


class NormWithStats(torch.autograd.Function):
    """``out = NormWithStats.apply(x, weight, bias, coeffs, eps_eff,
    pooled)``: ``x`` normalised with the pooled statistics of ``coeffs``
    (:func:`coefficients`), with the gradient of the pooled normalisation
    (``pooled``: past entries were averaged in).  ``weight``/``bias`` may
    be None; ``eps_eff`` is ``eps`` (``eps_in_sqrt``) or 0."""

    @staticmethod
    def forward(ctx, x, weight, bias, coeffs, eps_eff, pooled):
        # BatchNorm's kernel in inference form, with the pooled statistics
        # in the parameters' dtype (fp32 for a bf16 input under autocast:
        # the kernels' mixed-precision form)
        dtype = coeffs.dtype if weight is None else weight.dtype
        out = torch.native_batch_norm(x, weight, bias,
                                      cast(coeffs[MEAN], dtype),
                                      cast(coeffs[VAR_EFF], dtype), False,
                                      0.0, eps_eff)[0]
        ctx.save_for_backward(x, coeffs)
        ctx.eps_eff, ctx.pooled = eps_eff, pooled
        ctx.has_weight, ctx.has_bias = weight is not None, bias is not None
        ctx.param_dtype = dtype
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, coeffs = ctx.saved_tensors
        grad_in, grad_fake, grad_bias = (
            torch.ops.aten.native_batch_norm_backward(
                grad_out.contiguous(), x,
                cast(coeffs[BACKWARD_WEIGHT], ctx.param_dtype), None, None,
                coeffs[MEAN], coeffs[BACKWARD_INV_STD], True, ctx.eps_eff,
                [True, ctx.has_weight, True]))
        if ctx.pooled:  # s sum(g) (1 - 1/a) / M; 0 where no entry was kept
            # per channel first: one broadcast add over the activation
            shift = cast(grad_bias, coeffs.dtype) * coeffs[SHIFT]
            grad_in.add_(cast(shift, x.dtype).view(
                (1, -1) + (1, ) * (x.dim() - 2)))
        grad_weight = None
        if ctx.has_weight:  # sum(g (x - mu)) / std = w'-gradient * r
            grad_weight = cast(cast(grad_fake, coeffs.dtype) * coeffs[RATIO],
                               ctx.param_dtype)
        return (grad_in, grad_weight, grad_bias if ctx.has_bias else None,
                None, None, None)


def pooled_norm(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                past_mean: Optional[Tensor], past_var: Optional[Tensor],
                keep: Optional[Tensor], eps: float, eps_in_sqrt: bool
                ) -> Tuple[Tensor, Tensor, Tensor]:
    """``out, mu_now, var_now``: ``x`` normalised with its statistics pooled
    with the past entries (None: no entry yet), differentiable in ``x``,
    ``weight`` and ``bias``.  What the layer does, in one call."""
    with torch.no_grad():
        mean_now, var_now = batch_moments(x)
        mean, var, total = pool(mean_now, var_now, past_mean, past_var,
                                keep)
        count = mean.new_full((1, ), x.numel() // x.shape[1])
        coeffs = coefficients(mean, var, total, weight, eps, eps_in_sqrt,
                              count)
    out = NormWithStats.apply(x, weight, bias, coeffs,
                              eps if eps_in_sqrt else 0.0,
                              past_mean is not None)
    return out, mean_now, var_now
