"""One-call routes the CBN layer takes on a GPU.

On a GPU a CBN step is bound by the host's kernel launches, not by the
arithmetic (figures: ``benchmarks/README.md``).  Each function here does in
one dispatched call what the eager code does in several; the eager code
(:mod:`..moment_grads`, :mod:`..pooled_norm`, :mod:`..window`) picks it on a
GPU and keeps its own form on CPU.  All of them are device-agnostic and
give the same quantity as the eager form.
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

from ..conv_call import ConvCall

_ONES: Dict[tuple, Tensor] = {}  # grad_output of ones, per shape


def patch_sum_one_call(call: ConvCall, out_size: Tuple[int, ...]) -> Tensor:
    """``sum_{n,l} p_{n,l}`` (the eager form: ``moment_grads.mean_patch``)
    as one weight-gradient convolution with ``grad_output = 1`` and one
    output channel per group: ``(G, Cin/G, *k)``; one kernel launch
    instead of ``2 k + 2``."""
    conv_input = call.input.detach()
    shape = (conv_input.shape[0], call.groups) + tuple(out_size)
    key = (shape, conv_input.dtype, conv_input.device)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:  # e.g. many input sizes: keep the newest
            _ONES.pop(next(iter(_ONES)))
        ones = _ONES[key] = conv_input.new_ones(shape)
    weight = call.kernel.detach()[::call.kernel.shape[0] // call.groups]
    return torch.ops.aten.convolution_backward(
        ones, conv_input, weight, None, call.stride, call.padding,
        call.dilation, False, call.output_padding, call.groups,
        [False, True, False])[1]


def var_mean_into(flat: Tensor, out: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-channel mean and biased variance of ``(N, C, L)`` into the rows
    of ``out`` (``(2, C)``, ``flat``'s dtype): one Welford pass, as
    accurate as the eager two passes (``pooled_norm.batch_moments``)."""
    mean, var = out.unbind(0)
    torch.ops.aten.var_mean.correction_out(
        flat, [0, 2], correction=0, keepdim=False, out0=var, out1=mean)
    return mean, var


def slot_dots(dnu: Tensor, weight: Tensor, out: Tensor) -> Tensor:
    """``<dnu[s, c], weight[c]>`` for every slot ``s`` and channel ``c``:
    ``dnu`` ``(capacity, C, K)``, ``weight`` ``(C, K)``, into ``out``
    ``(C, capacity)``; returns its ``(capacity, C)`` view.  One batched
    matrix-vector product (the eager form: a product and a sum per slot,
    ``StatWindow.weight_dots``)."""
    torch.bmm(dnu.transpose(0, 1), weight.unsqueeze(2),
              out=out.unsqueeze(2))  # (C, capacity, K) x (C, K, 1)
    return out.t()
