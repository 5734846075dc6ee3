"""``d nu / dW`` as a matrix product where the im2col patches are cheap.

The eager form of ``sum_{n,l} y_{c,n,l} p_{n,l}`` (``d nu / dW`` times
``M / 2``, :func:`..moment_grads.square_gradient_sum`) is a weight-gradient
convolution with ``grad_output = y``.  For ungrouped convolutions whose
patches cost nothing or little to build -- pointwise ones (the input is
its own patch matrix) and 2-D ones on CPU with few output positions,
where the weight-gradient kernel is slow -- the same sum is one batched
matrix product ``sum_n y_n P_n^T``, written into a reused tensor; for
pointwise convolutions that widen the channels, ``W G + b s^T`` with the
input's Gram matrix ``G`` needs fewer multiply-adds still.  Which
convolutions of ResNet-50 take which route, and the timings, are in
``benchmarks/README.md``.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..conv_call import ConvCall
from ..precision import stat_dtype

#: output positions per sample up to which a 2-D convolution's ``d nu``
#: sum is computed from im2col patches on CPU
SMALL_OUTPUT = 64


def patch_columns(call: ConvCall, out_size: Tuple[int, ...]
                  ) -> Optional[Tensor]:
    """The im2col patches ``(N, K, L)`` of an ungrouped convolution when
    they are cheap to build and multiply: a pointwise convolution (its
    input, no copy), or a 2-D one on CPU with at most ``SMALL_OUTPUT``
    output positions (``F.unfold``: a small copy).  None otherwise."""
    conv_input = call.input.detach()
    if call.groups != 1:
        return None
    if call.pointwise:
        return conv_input.reshape(conv_input.shape[0], conv_input.shape[1],
                                  -1)
    if (conv_input.dim() == 4 and conv_input.device.type == 'cpu'
            and out_size[0] * out_size[1] <= SMALL_OUTPUT):
        return F.unfold(conv_input, tuple(call.kernel.shape[2:]),
                        call.dilation, call.padding, call.stride)
    return None


def gram_is_cheaper(channels: int, in_channels: int, positions: int) -> bool:
    """Whether ``W (X X^T)`` (``Cin^2 M + C Cin^2`` multiply-adds) beats
    ``Y X^T`` (``C Cin M``) by a margin: pointwise convs that widen the
    channels, at large ``M``."""
    return in_channels * (positions + channels) < 0.8 * channels * positions


def gram_product(call: ConvCall, y: Tensor, cols: Tensor, out: Tensor) -> None:
    """``sum_{n,l} y_{n,l} x_{n,l}^T = W G + b s^T`` for a pointwise conv
    ``y = W x + b``, with the input's Gram matrix ``G = sum x x^T`` and sum
    ``s = sum x``; the bias from the means, ``b = mean(y) - W mean(x)``."""
    weight = call.kernel.detach().reshape(out.shape[0], -1)
    gram = cols.new_empty(cols.shape[1], cols.shape[1])
    gram.addbmm_(cols, cols.transpose(1, 2), beta=0)
    torch.mm(weight, gram, out=out)
    if call.has_bias:
        count = cols.shape[0] * cols.shape[2]
        input_sum = cols.sum((0, 2))
        bias = y.reshape(y.shape[0], y.shape[1], -1).sum((0, 2)).sub_(
            torch.mv(weight, input_sum)).div_(count)
        out.addr_(bias, input_sum)


def square_gradient_sum_by_product(call: ConvCall, y: Tensor,
                                   out: Optional[Tensor] = None
                                   ) -> Optional[Tensor]:
    """``sum_{n,l} y_{c,n,l} p_{n,l}`` in the weight's shape, by a matrix
    product into ``out`` (a ``(C, K)`` tensor to reuse, e.g. the window's
    evicted entry: no allocation), for fp32/fp64 convolutions whose
    patches are cheap (:func:`patch_columns`); None where this route does
    not apply."""
    conv_input = call.input.detach()
    dtype = stat_dtype(conv_input.dtype)
    y = y.detach()
    if not y.dtype == conv_input.dtype == dtype:
        return None
    cols = patch_columns(call, tuple(y.shape[2:]))
    if cols is None:
        return None
    rows = y.reshape(y.shape[0], y.shape[1], -1)
    shape = (rows.shape[1], cols.shape[1])
    if out is None or out.shape != shape or out.dtype != dtype:
        out = rows.new_empty(shape)
    if call.pointwise and gram_is_cheaper(*shape, cols.shape[0] *
                                          cols.shape[2]):
        gram_product(call, y, cols, out)
    else:  # sum_n rows[n] cols[n]^T over out (beta=0 ignores it)
        out.addbmm_(rows, cols.transpose(1, 2), beta=0)
    return out.view(call.kernel.shape)
