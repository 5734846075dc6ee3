"""Closed-form gradients of a conv output's channel moments w.r.t. the weight.

For a convolution ``y = conv(x, W) + b`` and output channel ``c`` of group
``g``, with ``M = N * L`` the number of (sample, output position) pairs and
``p_{n,l}`` the input patch (im2col column) that position ``l`` of sample
``n`` sees::

    mu_c = 1/M sum_{n,l} y_{c,n,l}        d mu_c / d W_c = 1/M sum_{n,l} p_{n,l}
    nu_c = 1/M sum_{n,l} y_{c,n,l}^2      d nu_c / d W_c = 2/M sum_{n,l} y_{c,n,l} p_{n,l}

(``y_c`` depends only on row ``W_c``).  ``d mu/dW`` does not depend on ``c``
within a group: it is the mean input patch, sums of strided slices of the
batch-summed, zero-padded input (:func:`mean_patch`).  ``d nu/dW`` is
exactly a weight-gradient convolution with ``grad_output = y``: one
``aten.convolution_backward`` call (weight gradient only), or for pointwise
convs and small 2-D outputs one batched matrix product with the im2col
patches into a reused buffer.  The official code
gets the same numbers from two ``torch.autograd.grad`` passes.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .conv_call import ConvCall
from .workspace import cast, stat_dtype


def _offset_range(offset: int, pad: int, dilation: int, stride: int,
                  out: int, size: int) -> slice:
    """Input indices ``o d + i s - p`` (``0 <= i < out``) inside ``[0, size)``:
    the zero padding adds nothing, so it is skipped instead of built."""
    start = offset * dilation - pad
    first = max(0, -(start // stride))  # ceil(-start / stride)
    last = min(out - 1, (size - 1 - start) // stride)
    if last < first:
        return slice(0, 0)
    return slice(start + first * stride, start + last * stride + 1, stride)


def _is_pointwise(call: ConvCall) -> bool:
    """A 1x1, stride-1, unpadded convolution: every input position is one
    patch (a matrix product per group)."""
    return (not any(call.padding)
            and all(k == 1 for k in call.kernel.shape[2:])
            and all(s == 1 for s in call.stride))


def mean_patch(call: ConvCall, out_size: Tuple[int, ...]) -> Tensor:
    """``sum_{n,l} p_{n,l}``: ``(Cin, *k)``, for any number of spatial dims.

    Separable: along each spatial axis (last first), the sum over the
    output positions for kernel offset ``o`` is the sum of the strided
    slice ``o * dilation - padding :: stride`` of the input; after the first
    axis the tensor is small, so the cost is about ``k / stride`` passes
    over the batch-summed input.  (A 1x1 stride-1 convolution sums its
    whole input per channel: :func:`mean_gradient` takes its mean.)
    """
    conv_input = call.input.detach()
    dtype = stat_dtype(conv_input.dtype)
    kernel = call.kernel.shape[2:]
    if conv_input.is_cuda and conv_input.dtype == dtype:
        return _patch_sum_on_gpu(call, out_size).view(
            (conv_input.shape[1], ) + tuple(kernel))
    result = conv_input.sum(0, dtype=dtype)
    for axis in reversed(range(len(kernel))):
        dim = axis + 1
        sums = []
        for offset in range(kernel[axis]):
            index = _offset_range(offset, call.padding[axis],
                                  call.dilation[axis], call.stride[axis],
                                  out_size[axis], result.shape[dim])
            sums.append(result[(slice(None), ) * dim + (index, )].sum(
                dim, keepdim=True))
        result = torch.cat(sums, dim)
    return result


_ONES: Dict[tuple, Tensor] = {}  # grad_output of ones, per shape


def _patch_sum_on_gpu(call: ConvCall, out_size: Tuple[int, ...]) -> Tensor:
    """``sum_{n,l} p_{n,l}`` as one weight-gradient convolution with
    ``grad_output = 1`` and one output channel per group: ``(G, Cin/G,
    *k)``.  On a GPU one kernel launch instead of ``2 k + 2`` (the kernel
    launches, not the arithmetic, are what a CBN step costs there)."""
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


def mean_gradient(call: ConvCall, y: Tensor) -> Tensor:
    """``d mu / dW`` of the channels of ``y``: ``(groups, Cin/groups, *k)``
    in fp32 (fp64 for fp64 inputs).

    A 1x1 stride-1 convolution (most of a ResNet's): the mean of its input
    per channel, one reduction (every input position is one patch).
    """
    kernel = tuple(call.kernel.shape[2:])
    if _is_pointwise(call):
        conv_input = call.input.detach()
        dtype = stat_dtype(conv_input.dtype)
        dims = (0, ) + tuple(range(2, conv_input.dim()))
        dmu = conv_input.mean(dims) if conv_input.dtype == dtype else \
            conv_input.mean(dims, dtype=dtype)  # (no dtype: faster on CPU)
        return dmu.view((call.groups, -1) + kernel)
    dmu = mean_patch(call, tuple(y.shape[2:]))
    dmu = dmu.view((call.groups, -1) + kernel)
    return dmu.div_(y.numel() // y.shape[1])


#: output positions per sample up to which a 2-D convolution's ``d nu``
#: sum is computed from im2col patches on CPU (see square_gradient_sum)
SMALL_OUTPUT = 64


def _patch_columns(call: ConvCall, out_size: Tuple[int, ...]
                   ) -> Optional[Tensor]:
    """The im2col patches ``(N, K, L)`` of an ungrouped convolution when
    they are cheap to build and multiply: a pointwise convolution (its
    input, no copy), or a 2-D one on CPU with at most ``SMALL_OUTPUT``
    output positions (``F.unfold``: a small copy).  None otherwise."""
    conv_input = call.input.detach()
    if call.groups != 1:
        return None
    if _is_pointwise(call):
        return conv_input.reshape(conv_input.shape[0], conv_input.shape[1],
                                  -1)
    if (conv_input.dim() == 4 and conv_input.device.type == 'cpu'
            and out_size[0] * out_size[1] <= SMALL_OUTPUT):
        return F.unfold(conv_input, tuple(call.kernel.shape[2:]),
                        call.dilation, call.padding, call.stride)
    return None


def _gram_is_cheaper(channels: int, in_channels: int, positions: int) -> bool:
    """Whether ``W (X X^T)`` (``Cin^2 M + C Cin^2`` multiply-adds) beats
    ``Y X^T`` (``C Cin M``) by a margin: pointwise convs that widen the
    channels, at large ``M`` (ResNet-50's stage-1/2 expansions: 3-4x
    fewer)."""
    return in_channels * (positions + channels) < 0.8 * channels * positions


def _gram_product(call: ConvCall, y: Tensor, cols: Tensor,
                  out: Tensor) -> None:
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


def square_gradient_sum(call: ConvCall, y: Tensor,
                        out: Optional[Tensor] = None) -> Tensor:
    """``sum_{n,l} y_{c,n,l} p_{n,l}`` (``d nu / dW`` times ``M / 2``), the
    weight's shape, fp32 at least.

    A weight-gradient convolution with ``grad_output = y``.  For ungrouped
    convolutions in fp32/fp64 whose patches are cheap (:func:`_patch_columns`)
    one batched matrix product ``sum_n y_n P_n^T`` instead, written into
    ``out`` (a ``(C, K)`` tensor to reuse, e.g. the window's evicted entry:
    no allocation).  Measured on CPU (batch 2): about 10 % faster than the
    convolution for pointwise convolutions, 1.2-2.6x faster for ResNet-50's
    stage-4 3x3 and strided 1x1 ones (7x7 outputs, where the weight-gradient
    kernel is slow); the convolution stays faster for larger outputs.
    """
    conv_input = call.input.detach()
    dtype = stat_dtype(conv_input.dtype)
    y = y.detach()
    cols = None
    if y.dtype == conv_input.dtype == dtype:
        cols = _patch_columns(call, tuple(y.shape[2:]))
    if cols is not None:
        rows = y.reshape(y.shape[0], y.shape[1], -1)
        shape = (rows.shape[1], cols.shape[1])
        if out is None or out.shape != shape or out.dtype != dtype:
            out = rows.new_empty(shape)
        if _is_pointwise(call) and _gram_is_cheaper(*shape, cols.shape[0] *
                                                     cols.shape[2]):
            _gram_product(call, y, cols, out)
        else:  # sum_n rows[n] cols[n]^T over out (beta=0 ignores it)
            out.addbmm_(rows, cols.transpose(1, 2), beta=0)
        return out.view(call.kernel.shape)
    dnu = torch.ops.aten.convolution_backward(
        cast(y, conv_input.dtype), conv_input, call.kernel.detach(), None,
        call.stride, call.padding, call.dilation, False, call.output_padding,
        call.groups, [False, True, False])[1]
    return cast(dnu, dtype)


def moment_gradients(call: ConvCall, y: Tensor) -> Tuple[Tensor, Tensor]:
    """``(d mu / dW, d nu / dW)`` of the channels of ``y``, the conv's output.

    Shapes: ``(groups, Cin/groups, *k)`` and the weight's ``(C, Cin/groups,
    *k)``, in fp32 (fp64 for fp64 inputs).
    """
    count = y.numel() // y.shape[1]
    return (mean_gradient(call, y),
            square_gradient_sum(call, y).mul_(2 / count))
