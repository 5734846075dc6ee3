"""``visrep.engine.activation_memory``: saved and peak bytes from storages."""
import torch
import torch.utils.checkpoint as cp
from torch import nn

from visrep.engine.activation_memory import (peak_activation_bytes,
                                             saved_activation_bytes)

#: 1000 x 1000 fp32
MATRIX = 4 * 10**6


def _exp_of_double(x: torch.Tensor) -> torch.Tensor:
    """``exp(2 x)``: saves its output only (one matrix), one temporary."""
    return (x * 2).exp().sum()


def _product_of_halves_of_exp(x: torch.Tensor) -> torch.Tensor:
    y = x.exp()
    return (y[:500] * y[500:]).sum()


def test_saved_bytes_count_each_storage_once():
    x = torch.randn(1000, 1000, requires_grad=True)
    assert saved_activation_bytes(_exp_of_double, x) == MATRIX
    # exp's output and two views of it, all saved: one storage
    assert saved_activation_bytes(_product_of_halves_of_exp, x) == MATRIX


def test_saved_bytes_exclude_parameters_and_skip_checkpointed_regions():
    layer = nn.Linear(1000, 1000, bias=False)
    x = torch.randn(1000, 1000, requires_grad=True)
    # a linear saves its input and weight: the weight is the layer's
    assert saved_activation_bytes(layer, x) == 2 * MATRIX
    assert saved_activation_bytes(layer, x, exclude=[layer]) == MATRIX
    leaf = torch.randn(1000, 1000, requires_grad=True)
    checkpointed = saved_activation_bytes(
        lambda t: cp.checkpoint(_exp_of_double, t, use_reentrant=False),
        leaf)
    assert checkpointed == MATRIX  # its input, not exp's output


def test_peak_sees_backward_and_recomputation():
    """``exp(2 x)``: forward holds ``2 x`` and its exp (2 matrices); the
    backward's gradients never exceed that.  Checkpointed, the recomputation
    in backward allocates them again: the same peak, seen through it."""
    x = torch.randn(1000, 1000, requires_grad=True)
    # + the scalar loss and its gradient
    assert 2 * MATRIX <= peak_activation_bytes(_exp_of_double, x) <= \
        2 * MATRIX + 64
    peak = peak_activation_bytes(
        lambda t: cp.checkpoint(_exp_of_double, t, use_reentrant=False), x)
    assert 2 * MATRIX <= peak <= 3 * MATRIX


def test_peak_of_a_chain_frees_what_backward_no_longer_needs():
    """Ten ``exp`` in a row keep ten outputs for backward: the peak is ten
    matrices plus the two in flight at the last step, not the twenty ever
    allocated."""
    x = torch.randn(1000, 1000, requires_grad=True)

    def chain(t):
        for _ in range(10):
            t = t.exp() * 0.5
        return t.sum()

    assert 10 * MATRIX <= peak_activation_bytes(chain, x) <= 12 * MATRIX + 64
