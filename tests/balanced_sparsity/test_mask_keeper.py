"""Every optimizer 'auto' trusts keeps pruned weights at zero without the
post-step pass: gradient mask + optimizer state zeroed at the mask update."""
import pytest
import torch

from visrep.projects.balanced_sparsity import MaskKeeper, balanced_mask
from visrep.projects.balanced_sparsity.mask_keeper import ZERO_PRESERVING

OPTIONS = {
    'SGD': [dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
            dict(lr=0.1, momentum=0.9, dampening=0.5, maximize=True)],
    'Adam': [dict(lr=0.1, weight_decay=0.1, amsgrad=True)],
    'AdamW': [dict(lr=0.1, weight_decay=0.5, amsgrad=True)],
    'Adamax': [dict(lr=0.1, weight_decay=0.1)],
    'NAdam': [dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True),
              dict(lr=0.1, weight_decay=0.1)],
    'RAdam': [dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True),
              dict(lr=0.1, weight_decay=0.1)],
    'RMSprop': [dict(lr=0.1, momentum=0.9, centered=True, weight_decay=0.1)],
    'Adagrad': [dict(lr=0.1, initial_accumulator_value=0.5,
                     weight_decay=0.1)],
    'Adadelta': [dict(lr=1.0, weight_decay=0.1)],
    'ASGD': [dict(lr=0.1, weight_decay=0.1, t0=0)],
}
CASES = [(cls, kwargs) for cls in ZERO_PRESERVING
         for kwargs in OPTIONS[cls.__name__]]


def _steps(optimizer, weight, x, count):
    for _ in range(count):
        optimizer.zero_grad()
        ((x @ weight.t()).tanh()**2).sum().backward()
        optimizer.step()


def _dense_then_pruned(cls, **kwargs):
    """3 dense steps (the state fills up), then a 50 % mask in banks of 8."""
    g = torch.Generator().manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(8, 32, generator=g))
    x = torch.randn(16, 32, generator=g)
    optimizer = cls([weight], **kwargs)
    _steps(optimizer, weight, x, 3)
    keeper = MaskKeeper()
    keep = balanced_mask(weight, 0.5, 8)
    keeper.set_mask('w', weight, keep)
    keeper.apply()
    return weight, x, optimizer, keeper, keep


@pytest.mark.parametrize('cls,kwargs', CASES,
                         ids=[f'{c.__name__}-{i}' for i, (c, _) in
                              enumerate(CASES)])
def test_zero_preserving_optimizers_keep_zeros(cls, kwargs):
    weight, x, optimizer, keeper, keep = _dense_then_pruned(cls, **kwargs)
    keeper.zero_optimizer_state([optimizer])
    assert keeper.attach([optimizer], reapply='auto') == []
    for _ in range(5):
        _steps(optimizer, weight, x, 1)
        assert weight[~keep].abs().sum() == 0
        assert weight[keep].abs().sum() > 0
    keeper.detach()


def test_without_the_state_mask_momentum_moves_zeros():
    """Negative control: the gradient mask alone is not enough."""
    weight, x, optimizer, keeper, keep = _dense_then_pruned(
        torch.optim.SGD, lr=0.1, momentum=0.9)
    keeper.attach([optimizer], reapply=False)
    _steps(optimizer, weight, x, 1)
    assert weight[~keep].abs().sum() > 0


def test_gradient_mask_turns_inf_into_zero():
    weight = torch.nn.Parameter(torch.ones(2, 4))
    keeper = MaskKeeper()
    keeper.set_mask('w', weight, torch.tensor([[True, False] * 2] * 2))
    keeper.attach([])
    (weight * torch.tensor([1.0, float('inf')] * 2)).sum().backward()
    assert weight.grad.tolist() == [[1.0, 0.0] * 2] * 2
    keeper.detach()
