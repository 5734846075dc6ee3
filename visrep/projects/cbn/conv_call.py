"""The convolution that produced a tensor, read from its autograd node.

A CBN compensates its statistics with the weight change of the convolution
right before it (the official ``forward(x, weight)`` takes that weight from
the caller).  Here nothing is passed: the CBN's input ``x`` is the output of
that convolution, so ``x.grad_fn`` is the convolution's ``ConvolutionBackward0``
node, which already holds everything the closed-form statistic gradients need
-- the conv's input (saved by autograd for the weight gradient anyway, so no
copy and no extra hook), stride, padding, dilation, groups -- and, one edge
further, the weight parameter itself (through one ``ToCopyBackward0`` under
autocast).  This works for ``nn.Conv1d/2d/3d``, mmcv's conv wrappers and
functional ``F.conv*d`` calls alike, with the conv bias included.
:mod:`.moment_grads` turns a :class:`ConvCall` into the gradients of the
output's channel moments.
"""
from dataclasses import dataclass
from typing import Tuple, Union

from torch import Tensor

_CONV_NODE = 'ConvolutionBackward0'
_CAST_NODE = 'ToCopyBackward0'
_LEAF_NODE = 'AccumulateGrad'


@dataclass(frozen=True)
class ConvCall:
    """One call of a convolution: its weight parameter, input and geometry."""

    weight: Tensor  # the parameter (the fp32 master weight under autocast)
    input: Tensor  # the input exactly as the convolution saw it
    kernel: Tensor  # the weight exactly as the convolution saw it
    stride: Tuple[int, ...]
    padding: Tuple[int, ...]
    dilation: Tuple[int, ...]
    output_padding: Tuple[int, ...]
    groups: int
    has_bias: bool = True  # whether a bias was added (its value is not read)

    @property
    def pointwise(self) -> bool:
        """A 1x1, stride-1, unpadded convolution: every input position is
        one patch (a matrix product per group)."""
        return (not any(self.padding)
                and all(k == 1 for k in self.kernel.shape[2:])
                and all(s == 1 for s in self.stride))


def _node_name(node) -> str:
    return type(node).__name__


def _weight_leaf(conv_node) -> Union[Tensor, None]:
    """The weight parameter feeding a ConvolutionBackward0 node (or None)."""
    node = conv_node.next_functions[1][0]
    if node is not None and _node_name(node) == _CAST_NODE:
        node = node.next_functions[0][0]  # autocast copy of the weight
    if node is not None and _node_name(node) == _LEAF_NODE:
        return node.variable
    return None


def find_conv_call(x: Tensor) -> Union[ConvCall, str]:
    """The convolution whose output ``x`` is, or a sentence saying why not.

    The sentence completes "its input ..." in binding error messages.
    """
    node = x.grad_fn
    if node is None:
        if x.requires_grad:
            return 'is a leaf tensor, not the output of a convolution'
        return 'has no autograd history (it was computed without gradients)'
    if _node_name(node) != _CONV_NODE:
        return (f'comes from {node.name()}, not straight from a '
                f'convolution')
    if node._saved_transposed:
        return 'comes from a transposed convolution, which is not supported'
    weight = _weight_leaf(node)
    saved_weight = node._saved_weight
    if weight is None:
        if saved_weight.requires_grad or saved_weight.grad_fn is not None:
            return ('comes from a convolution whose weight is computed '
                    '(e.g. weight standardisation), not a parameter')
        weight = saved_weight  # a frozen weight (requires_grad=False)
    if weight.shape != saved_weight.shape:
        return 'comes from a convolution whose weight was reshaped'
    return ConvCall(
        weight=weight,
        input=node._saved_input,
        kernel=saved_weight,
        stride=tuple(node._saved_stride),
        padding=tuple(node._saved_padding),
        dilation=tuple(node._saved_dilation),
        output_padding=tuple(node._saved_output_padding),
        groups=int(node._saved_groups),
        # (0,) without a bias; unknown counts as a bias (always correct)
        has_bias=tuple(getattr(node, '_saved_bias_sym_sizes_opt', None)
                       or ()) != (0, ))

