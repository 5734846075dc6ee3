"""The conv -> CBN pair route: ``d nu/dW`` in the convolution's backward.

The route (``dnu_in_backward=True``, ``visrep/projects/cbn/fast/
conv_pair.py``) must give what the default route gives (``d nu`` computed
in the forward, the convolution's own backward): losses, input / weight /
bias / affine gradients and the window's buffers, over SGD steps -- to
1e-12 of each tensor's scale in fp64 and 3e-5 in fp32 (summation order
only) -- also when no backward follows a forward or a layer runs twice per
step.
"""
import pytest
import torch
from torch import nn

from visrep.projects.cbn import CBN
from visrep.projects.cbn.fast import conv_pair


class _Net(nn.Module):
    """3x3, pointwise (1x1 stride 1) and strided 1x1 convolutions, each
    followed by a CBN with a full window from the second step."""

    def __init__(self, dtype, pair):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv2d(3, 8, 3, padding=1),
            nn.Conv2d(8, 16, 1, bias=False),
            nn.Conv2d(16, 8, 1, stride=2),
        ])
        self.norms = nn.ModuleList(
            CBN(c, buffer_num=2, burnin=0, dnu_in_backward=pair)
            for c in (8, 16, 8))
        self.to(dtype)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = torch.relu(norm(conv(x)))
        return x


def _pair(dtype):
    torch.manual_seed(0)
    fused, eager = _Net(dtype, True), _Net(dtype, False)
    eager.load_state_dict(fused.state_dict())
    with torch.no_grad():
        for a, b in zip(fused.norms, eager.norms):
            a.weight.uniform_(0.5, 1.5)
            b.weight.copy_(a.weight)
    return fused, eager


def _steps(net, inputs, backward=None):
    """SGD steps; per step the loss, every gradient and the windows."""
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    records = []
    for step, x in enumerate(inputs):
        x = x.clone().requires_grad_()
        loss = (net(x) * torch.linspace(-1, 1, 8, dtype=x.dtype).view(
            1, -1, 1, 1)).sum()
        if backward is not None and not backward(step):
            records.append([loss.detach()])
            continue
        optimizer.zero_grad()
        loss.backward()
        records.append([loss.detach(), x.grad] +
                       [p.grad.clone() for p in net.parameters()])
        optimizer.step()
    for norm in net.norms:
        norm.settle_pending_dnu()
        records.append([t.clone() for t in norm.window.tensors()])
    return records


def _compare(got, expected, tolerance):
    """Every record equal to ``tolerance`` times its largest magnitude (at
    least 0.1: the conv biases before a norm get a zero gradient, rounding
    noise only)."""
    assert len(got) == len(expected)
    for step, (a, b) in enumerate(zip(got, expected)):
        assert len(a) == len(b)
        for index, (u, v) in enumerate(zip(a, b)):
            error = (u - v).abs().max() / v.abs().max().clamp(min=0.1)
            assert error <= tolerance, (step, index, error.item())


def _inputs(dtype, count):
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(2, 3, 6, 6, generator=generator, dtype=dtype)
            for _ in range(count)]


@pytest.mark.parametrize('dtype,tolerance', [
    (torch.float64, 1e-12),
    (torch.float32, 3e-5),  # fp32 summation order (measured 4.8e-6)
], ids=['fp64', 'fp32'])
def test_pair_route_equals_the_eager_route(dtype, tolerance, monkeypatch):
    fused, eager = _pair(dtype)
    calls = []
    attach = conv_pair.attach
    monkeypatch.setattr(conv_pair, 'attach',
                        lambda *a: calls.append(1) or attach(*a))
    inputs = _inputs(dtype, 4)
    got = _steps(fused, inputs)
    expected = _steps(eager, inputs)
    assert len(calls) == 3 * 4  # every layer and step (burnin=0)
    _compare(got, expected, tolerance)
    # the windows hold the d nu of real entries (not zeros)
    assert all(norm.window.dnu.abs().sum() > 0 for norm in fused.norms)


def test_forward_without_backward_gets_its_dnu_eagerly():
    """Steps 1 and 3 run no backward: the next call (or settle) computes
    the entry's d nu, and the training matches the eager route."""
    fused, eager = _pair(torch.float64)
    inputs = _inputs(torch.float64, 6)
    skip = (lambda step: step not in (1, 3))
    got = _steps(fused, inputs, backward=skip)
    expected = _steps(eager, inputs, backward=skip)
    _compare(got, expected, 1e-12)


def test_layer_called_twice_per_step():
    """A shared conv + CBN applied to two inputs before one backward (e.g.
    a head shared across levels): the first call's d nu is due before the
    second call reads the window."""
    torch.manual_seed(0)
    results = []
    for use_pair in (True, False):
        torch.manual_seed(0)
        conv = nn.Conv2d(4, 4, 3, padding=1).double()
        norm = CBN(4, buffer_num=3, burnin=0,
                   dnu_in_backward=use_pair).double()
        net = nn.Sequential(conv, norm)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.2)
        generator = torch.Generator().manual_seed(3)
        record = []
        for _ in range(3):
            a, b = (torch.randn(2, 4, 5, 5, generator=generator,
                                dtype=torch.double) for _ in range(2))
            loss = net(a).pow(3).mean() + net(b).pow(3).mean()
            optimizer.zero_grad()
            loss.backward()
            record += [loss.detach()] + [p.grad.clone()
                                         for p in net.parameters()]
            optimizer.step()
        norm.settle_pending_dnu()
        record += [t.clone() for t in norm.window.tensors()]
        results.append(record)
    for u, v in zip(*results):
        torch.testing.assert_close(u, v, rtol=1e-10, atol=1e-12)
