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
``aten.convolution_backward`` call (weight gradient only; for a pointwise
conv, matrix products into a reused buffer).  The official code
gets the same numbers from two ``torch.autograd.grad`` passes.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .conv_call import ConvCall


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
    over the batch-summed input.  A 1x1 stride-1 convolution (most of a
    ResNet's) sums its whole input per channel: one pass, no temporary.
    """
    dtype = torch.promote_types(call.input.dtype, torch.float32)
    conv_input = call.input.detach()
    kernel = call.kernel.shape[2:]
    if _is_pointwise(call):
        channels = conv_input.shape[1]
        sums = conv_input.reshape(conv_input.shape[0], channels, -1).sum(
            2, dtype=dtype).sum(0)
        return sums.view((channels, ) + (1, ) * len(kernel))
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


def mean_gradient(call: ConvCall, y: Tensor) -> Tensor:
    """``d mu / dW`` of the channels of ``y``: ``(groups, Cin/groups, *k)``
    in fp32 (fp64 for fp64 inputs)."""
    dtype = torch.promote_types(call.input.dtype, torch.float32)
    dmu = mean_patch(call, tuple(y.shape[2:]))
    dmu = dmu.view((call.groups, -1) + tuple(dmu.shape[1:]))
    return dmu.to(dtype).div_(y.numel() // y.shape[1])


def square_gradient_sum(call: ConvCall, y: Tensor,
                        out: Optional[Tensor] = None) -> Tensor:
    """``sum_{n,l} y_{c,n,l} p_{n,l}`` (``d nu / dW`` times ``M / 2``), the
    weight's shape, fp32 at least.

    A weight-gradient convolution with ``grad_output = y``; for an ungrouped
    pointwise convolution in fp32/fp64 one matrix product per sample accumulated in
    ``out`` (a ``(C, Cin)`` tensor to reuse, e.g. the window's evicted
    entry: no allocation), about 10 % faster than the convolution on CPU.
    """
    conv_input = call.input.detach()
    dtype = torch.promote_types(conv_input.dtype, torch.float32)
    y = y.detach()
    if (_is_pointwise(call) and call.groups == 1
            and y.dtype == conv_input.dtype == dtype):
        rows = y.reshape(y.shape[0], y.shape[1], -1)
        cols = conv_input.reshape(conv_input.shape[0], conv_input.shape[1],
                                  -1)
        shape = (rows.shape[1], cols.shape[1])
        if out is None or out.shape != shape or out.dtype != dtype:
            out = rows.new_empty(shape)
        torch.mm(rows[0], cols[0].t(), out=out)
        for sample in range(1, rows.shape[0]):
            out.addmm_(rows[sample], cols[sample].t())
        return out.view(call.kernel.shape)
    dnu = torch.ops.aten.convolution_backward(
        y.to(conv_input.dtype), conv_input, call.kernel.detach(), None,
        call.stride, call.padding, call.dilation, False, call.output_padding,
        call.groups, [False, True, False])[1]
    return dnu.to(dtype)


def moment_gradients(call: ConvCall, y: Tensor) -> Tuple[Tensor, Tensor]:
    """``(d mu / dW, d nu / dW)`` of the channels of ``y``, the conv's output.

    Shapes: ``(groups, Cin/groups, *k)`` and the weight's ``(C, Cin/groups,
    *k)``, in fp32 (fp64 for fp64 inputs).
    """
    count = y.numel() // y.shape[1]
    return (mean_gradient(call, y),
            square_gradient_sum(call, y).mul_(2 / count))
