"""The conv -> CBN pair: ``d nu/dW`` computed in the convolution's backward.

``d nu/dW`` of a CBN layer (times ``M / 2``, :func:`..moment_grads.
square_gradient_sum`) is the weight gradient of the convolution before it
for ``grad_output = y``, the convolution's own output.  The convolution's
backward computes its weight gradient for the real ``grad_output g`` from
the same input patches.  Stacking ``[g, y]`` along the output channels, one
weight-gradient product (one pass over the input patches, twice the rows)
gives both: rows ``:C`` are the weight gradient, rows ``C:`` the new window
entry's ``d nu`` sum.

The layer needs that entry only from its next training call on (the
current step uses the identity ``<d nu, W> = 2 (var + mu <d mu, W>)``,
:mod:`..window`), so the product can wait for the backward.  In the
forward, :func:`attach` puts :class:`ConvPairBackward` between the
convolution's output and the layer: it returns the output unchanged and,
in the backward, takes over the convolution's gradients (input, weight,
bias) -- the convolution's own autograd node then receives no gradient
from the layer -- and writes ``d nu`` into the window slot.

Where the backward does not run before the layer's next call (a training
forward without backward, a layer called twice per step), the next call
computes ``d nu`` eagerly from the tensors :class:`PendingDnu` keeps
(:meth:`PendingDnu.settle`), as the layer did before: the window always
holds every entry's ``d nu`` when it is read.

Results: the convolution's input gradient is the same kernel call as its
own backward's; the weight gradient and ``d nu`` come from the stacked
product, equal to the separate products up to fp32 summation order (the
tolerance is tested, ``tests/cbn/test_conv_pair.py``).  Used with
``CBN(dnu_in_backward=True)`` on CPU for ungrouped fp32/fp64 convolutions
whose weight is the parameter itself (no autocast copy); elsewhere the
layer computes ``d nu`` in its forward.  Measured on ResNet-50 shapes it
saves no time (the stacked product has the multiply-adds of the two it
replaces, and the default route has cheaper algorithms for widening 1x1
convolutions and small outputs), so the switch is off by default
(``benchmarks/README.md``, ``cbn_speed.py``).
"""
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..conv_call import ConvCall
from ..precision import stat_dtype

_LEAF_NODE = 'AccumulateGrad'


class PendingDnu:
    """A window entry whose ``d nu`` the backward has not written yet."""

    def __init__(self, layer, call: ConvCall, y: Tensor, slot: int):
        self.layer = layer
        self.call: Optional[ConvCall] = call
        self.y: Optional[Tensor] = y
        self.slot = slot

    @property
    def open(self) -> bool:
        return self.call is not None

    def close(self) -> None:
        """Drop the references to the step's tensors."""
        self.call = self.y = None
        if self.layer._pending_dnu is self:
            self.layer._pending_dnu = None

    def deliver(self, dnu: Tensor) -> None:
        """Write the backward's ``d nu`` sum into the entry's slot."""
        self.layer.window.write_dnu(self.slot, dnu)
        self.close()

    def settle(self) -> None:
        """No backward came: compute ``d nu`` eagerly (the layer's route)."""
        from ..moment_grads import square_gradient_sum
        if self.open:
            window = self.layer.window
            window.write_dnu(self.slot, square_gradient_sum(
                self.call, self.y, window.dnu_slot(self.slot)))
        self.close()


def _bias_leaf(call: ConvCall, y: Tensor) -> Tuple[bool, Optional[Tensor]]:
    """``(usable, bias)``: the conv's bias parameter (None without a bias or
    with a frozen one); not usable when the bias is computed."""
    node = y.grad_fn.next_functions[2][0] if call.has_bias else None
    if node is None:
        return True, None
    if type(node).__name__ != _LEAF_NODE:
        return False, None
    return True, node.variable


def applies(call: ConvCall, y: Tensor) -> bool:
    """Whether the pair route computes ``d nu`` for this convolution call."""
    conv_input = call.input
    return (y.device.type == 'cpu' and call.groups == 1
            and call.kernel is call.weight and call.weight.requires_grad
            and y.dtype == conv_input.dtype == call.kernel.dtype ==
            stat_dtype(y.dtype) and y.grad_fn is not None
            and _bias_leaf(call, y)[0])


def attach(layer, call: ConvCall, y: Tensor, slot: int) -> Tensor:
    """``y`` (the conv output) with :class:`ConvPairBackward` in front;
    the entry in ``slot`` gets its ``d nu`` in the backward (or at the
    layer's next call, :meth:`PendingDnu.settle`)."""
    pending = PendingDnu(layer, call, y.detach(), slot)
    layer._pending_dnu = pending
    bias = _bias_leaf(call, y)[1]
    return ConvPairBackward.apply(call.input, call.weight, bias,
                                  y.detach(), pending)


def _weight_gradients(call: ConvCall, grad: Tensor, y: Optional[Tensor],
                      with_bias: bool) -> Tuple[Tensor, Optional[Tensor],
                                                Optional[Tensor]]:
    """``(grad_weight, grad_bias, d nu sum)`` for ``grad_output = grad``,
    the ``d nu`` sum (``grad_output = y``) from the same product when
    ``y`` is given."""
    channels = grad.shape[1]
    stacked = grad if y is None else torch.cat([grad, y], 1)
    conv_input = call.input.detach()
    if call.pointwise:  # a matrix product per sample, summed
        rows = stacked.reshape(stacked.shape[0], stacked.shape[1], -1)
        cols = conv_input.reshape(conv_input.shape[0], conv_input.shape[1],
                                  -1)
        both = rows.new_empty(rows.shape[1], cols.shape[1])
        both.addbmm_(rows, cols.transpose(1, 2), beta=0)
        both = both.view((stacked.shape[1], ) + call.kernel.shape[1:])
    else:
        shape = (stacked.shape[1], ) + tuple(call.kernel.shape[1:])
        both = torch.ops.aten.convolution_backward(
            stacked, conv_input, call.kernel.new_empty(shape),
            None, call.stride, call.padding, call.dilation, False,
            call.output_padding, 1, [False, True, False])[1]
    grad_bias = grad.sum((0, ) + tuple(range(2, grad.dim()))) \
        if with_bias else None
    dnu = None if y is None else both[channels:]
    return both[:channels], grad_bias, dnu


class ConvPairBackward(torch.autograd.Function):
    """Identity on the conv output ``y`` whose backward is the convolution's
    (input, weight and bias gradients) plus the CBN entry's ``d nu``."""

    @staticmethod
    def forward(ctx, conv_input: Tensor, weight: Tensor,
                bias: Optional[Tensor], y: Tensor,
                pending: PendingDnu) -> Tensor:
        ctx.pending = pending
        ctx.call = pending.call
        ctx.save_for_backward(y)
        return y.view_as(y)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        call: ConvCall = ctx.call
        pending: PendingDnu = ctx.pending
        (y, ) = ctx.saved_tensors
        grad = grad.contiguous()
        grad_input = None
        if ctx.needs_input_grad[0]:
            grad_input = torch.ops.aten.convolution_backward(
                grad, call.input.detach(), call.kernel.detach(), None,
                call.stride, call.padding, call.dilation, False,
                call.output_padding, call.groups, [True, False, False])[0]
        wanted = pending.open and pending.y is not None and \
            pending.layer._pending_dnu is pending
        grad_weight, grad_bias, dnu = _weight_gradients(
            call, grad, y if wanted else None, ctx.needs_input_grad[2])
        if wanted:
            pending.deliver(dnu)
        ctx.call = None
        return grad_input, grad_weight, grad_bias, None, None
