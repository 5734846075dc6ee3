"""GlobalBatchNorm1d with one process is BatchNorm1d.

With two processes it is checked end to end by tests/moby/test_e2e.py: the
target projector's keys (BN in training mode) and the weights after two
steps (gradients through the all-reduced statistics) of a 2-process DDP run
equal those of one process with the same global batch."""
import torch
from torch import nn

from visrep.engine import GlobalBatchNorm1d


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 6, generator=g) * 3 + 1, torch.randn(8, 6,
                                                               generator=g)


def _reference():
    x, grad = _data()
    x = x.clone().requires_grad_()
    bn = nn.BatchNorm1d(6)
    nn.init.normal_(bn.weight, generator=torch.Generator().manual_seed(1))
    out = bn(x)
    out.backward(grad)
    return out.detach(), x.grad, bn


def test_single_process_is_batchnorm():
    out, x_grad, reference = _reference()
    bn = GlobalBatchNorm1d(6)
    bn.load_state_dict(nn.BatchNorm1d(6).state_dict())
    bn.weight.data.copy_(reference.weight.detach())
    x = _data()[0].clone().requires_grad_()
    got = bn(x)
    got.backward(_data()[1])
    assert torch.equal(got.detach(), out) and torch.equal(x.grad, x_grad)
    assert torch.equal(bn.running_var, reference.running_var)
