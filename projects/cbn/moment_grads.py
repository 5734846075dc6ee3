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
``aten.convolution_backward`` call (weight gradient only).  The official code
gets the same numbers from two ``torch.autograd.grad`` passes.
"""
from typing import Tuple

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


def mean_patch(call: ConvCall, out_size: Tuple[int, ...]) -> Tensor:
    """``sum_{n,l} p_{n,l}``: ``(Cin, *k)``, for any number of spatial dims.

    Separable: along each spatial axis (last first), the sum over the
    output positions for kernel offset ``o`` is the sum of the strided
    slice ``o * dilation - padding :: stride`` of the input; after the first
    axis the tensor is small, so the cost is about ``k / stride`` passes
    over the batch-summed input.
    """
    dtype = torch.promote_types(call.input.dtype, torch.float32)
    result = call.input.detach().sum(0, dtype=dtype)
    kernel = call.kernel.shape[2:]
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


def moment_gradients(call: ConvCall, y: Tensor) -> Tuple[Tensor, Tensor]:
    """``(d mu / dW, d nu / dW)`` of the channels of ``y``, the conv's output.

    Shapes: ``(groups, Cin/groups, *k)`` and the weight's ``(C, Cin/groups,
    *k)``, in fp32 (fp64 for fp64 inputs).
    """
    channels, groups = y.shape[1], call.groups
    count = y.numel() // channels
    conv_input = call.input.detach()
    dtype = torch.promote_types(conv_input.dtype, torch.float32)
    dnu = torch.ops.aten.convolution_backward(
        y.detach().to(conv_input.dtype), conv_input, call.kernel.detach(),
        None, call.stride, call.padding, call.dilation, False,
        call.output_padding, groups, [False, True, False])[1]
    dmu = mean_patch(call, tuple(y.shape[2:]))
    dmu = dmu.view((groups, -1) + tuple(dmu.shape[1:]))
    return dmu.to(dtype).div_(count), dnu.to(dtype).mul_(2 / count)
