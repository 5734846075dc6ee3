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
``aten.convolution_backward`` call (weight gradient only).  The official
code gets the same numbers from two ``torch.autograd.grad`` passes.

Fast routes (:mod:`.fast`): on a GPU the patch sum is one call
(:func:`.fast.gpu_routes.patch_sum_one_call`); where the im2col patches are
cheap, ``d nu/dW`` is a batched matrix product
(:mod:`.fast.dnu_products`).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .conv_call import ConvCall
from .fast.dnu_products import square_gradient_sum_by_product
from .fast.gpu_routes import patch_sum_one_call
from .precision import cast, stat_dtype


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
    over the batch-summed input.  (A 1x1 stride-1 convolution sums its
    whole input per channel: :func:`mean_gradient` takes its mean.)
    """
    conv_input = call.input.detach()
    dtype = stat_dtype(conv_input.dtype)
    kernel = call.kernel.shape[2:]
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
    in fp32 (fp64 for fp64 inputs).

    A 1x1 stride-1 convolution (most of a ResNet's): the mean of its input
    per channel, one reduction (every input position is one patch).
    """
    kernel = tuple(call.kernel.shape[2:])
    conv_input = call.input.detach()
    dtype = stat_dtype(conv_input.dtype)
    if call.pointwise:
        dims = (0, ) + tuple(range(2, conv_input.dim()))
        # dtype= only where it converts: the plain reduction otherwise
        dmu = conv_input.mean(dims) if conv_input.dtype == dtype else \
            conv_input.mean(dims, dtype=dtype)
        return dmu.view((call.groups, -1) + kernel)
    out_size = tuple(y.shape[2:])
    if conv_input.is_cuda and conv_input.dtype == dtype:  # fast route
        dmu = patch_sum_one_call(call, out_size)
    else:
        dmu = mean_patch(call, out_size)
    dmu = dmu.view((call.groups, -1) + kernel)
    return dmu.div_(y.numel() // y.shape[1])


def square_gradient_sum(call: ConvCall, y: Tensor,
                        out: Optional[Tensor] = None) -> Tensor:
    """``sum_{n,l} y_{c,n,l} p_{n,l}`` (``d nu / dW`` times ``M / 2``), the
    weight's shape, fp32 at least: a weight-gradient convolution with
    ``grad_output = y``.

    Where the patches are cheap, a matrix product into ``out`` instead
    (fast route, :func:`.fast.dnu_products.square_gradient_sum_by_product`;
    ``out``: a ``(C, K)`` tensor to reuse).
    """
    product = square_gradient_sum_by_product(call, y, out)  # fast route
    if product is not None:
        return product
    conv_input = call.input.detach()
    dnu = torch.ops.aten.convolution_backward(
        cast(y.detach(), conv_input.dtype), conv_input, call.kernel.detach(),
        None, call.stride, call.padding, call.dilation, False,
        call.output_padding, call.groups, [False, True, False])[1]
    return cast(dnu, stat_dtype(conv_input.dtype))


def moment_gradients(call: ConvCall, y: Tensor) -> Tuple[Tensor, Tensor]:
    """``(d mu / dW, d nu / dW)`` of the channels of ``y``, the conv's output.

    Shapes: ``(groups, Cin/groups, *k)`` and the weight's ``(C, Cin/groups,
    *k)``, in fp32 (fp64 for fp64 inputs).
    """
    count = y.numel() // y.shape[1]
    return (mean_gradient(call, y),
            square_gradient_sum(call, y).mul_(2 / count))
