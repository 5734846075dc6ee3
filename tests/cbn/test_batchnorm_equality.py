"""Without a window CBN is torch.nn.BatchNorm, bit for bit (acceptance 1).

buffer_num=0 (k = 1), the burn-in iterations of a windowed layer, and eval
mode must give the same outputs, input/affine gradients and running
statistics as BatchNorm1d/2d/3d over several training steps.
"""
import pytest
import torch
from torch import nn

from visrep.projects.cbn import CBN

BATCHNORMS = {3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


def _pair(shape, momentum=0.1, **cbn_kwargs):
    """A BatchNorm and a CBN with the same random affine parameters, and a
    conv in front of each so that the CBN input is a conv output."""
    channels = shape[1]
    conv_type = {3: nn.Conv1d, 4: nn.Conv2d, 5: nn.Conv3d}[len(shape)]
    torch.manual_seed(0)
    conv = conv_type(channels, channels, 3, padding=1)
    bn = BATCHNORMS[len(shape)](channels, momentum=momentum)
    cbn = CBN(channels, momentum=momentum, **cbn_kwargs)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    cbn.load_state_dict(bn.state_dict())
    return conv, bn, cbn


def _step(conv, norm, x, grad):
    x = x.clone().requires_grad_()
    out = norm(conv(x))
    out.backward(grad)
    grads = [x.grad] + [p.grad.clone() for p in norm.parameters()]
    norm.zero_grad()
    conv.zero_grad()
    return out, grads


@pytest.mark.parametrize('shape', [(4, 5, 7), (2, 6, 5, 7), (2, 3, 3, 4, 5)],
                         ids=['1d', '2d', '3d'])
@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(buffer_num=0, rho=1.0),
    dict(buffer_num=3, burnin=3),  # burn-in: plain BatchNorm
    dict(momentum=None),  # cumulative running average
], ids=['default', 'k1', 'burnin', 'cumulative'])
def test_equals_batchnorm_train_and_eval(shape, kwargs):
    momentum = kwargs.pop('momentum', 0.1)
    conv, bn, cbn = _pair(shape, momentum=momentum, **kwargs)
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):
        x = torch.randn(shape, generator=generator) * 3 + 1
        grad = torch.randn(shape, generator=generator)
        out_bn, grads_bn = _step(conv, bn.train(), x, grad)
        out_cbn, grads_cbn = _step(conv, cbn.train(), x, grad)
        assert torch.equal(out_bn, out_cbn)
        for a, b in zip(grads_bn, grads_cbn):
            assert torch.equal(a, b)
        for name in ('running_mean', 'running_var', 'num_batches_tracked'):
            assert torch.equal(getattr(bn, name), getattr(cbn, name)), name
        out_bn, grads_bn = _step(conv, bn.eval(), x, grad)
        out_cbn, grads_cbn = _step(conv, cbn.eval(), x, grad)
        assert torch.equal(out_bn, out_cbn)
        for a, b in zip(grads_bn, grads_cbn):
            assert torch.equal(a, b)


def test_frozen_input_falls_back_to_batchnorm():
    """An input that needs no gradient (frozen layers before it) uses the
    current batch only, as in the official code."""
    conv, bn, cbn = _pair((2, 4, 6, 6), buffer_num=2)
    conv.requires_grad_(False)
    for _ in range(3):
        x = torch.randn(2, 4, 6, 6)
        assert torch.equal(bn(conv(x)), cbn(conv(x)))
    assert len(cbn.window) == 0


def test_untracked_running_stats_use_batch_stats_in_eval():
    conv, _, cbn = _pair((2, 4, 5, 5))
    bn = nn.BatchNorm2d(4, track_running_stats=False)
    cbn = CBN(4, track_running_stats=False)
    x = torch.randn(2, 4, 5, 5)
    assert torch.equal(bn.eval()(x), cbn.eval()(x))


def test_official_numerics_switches():
    """eps outside the sqrt, unbiased variance without a window, uniform
    weight init: the official code's formulas."""
    torch.manual_seed(0)
    cbn = CBN(3, eps_in_sqrt=False, plain_var='unbiased',
              affine_init='uniform')
    assert not torch.all(cbn.weight == 1)  # uniform_ init
    x = torch.randn(2, 3, 4, 4)
    out = cbn(x)
    mean = x.mean((0, 2, 3), keepdim=True)
    std = x.var((0, 2, 3), keepdim=True, unbiased=True).sqrt()
    expected = (x - mean) / (std + 1e-5) * cbn.weight.view(1, -1, 1, 1)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    cbn.eval()
    expected = ((x - cbn.running_mean.view(1, -1, 1, 1)) /
                (cbn.running_var.view(1, -1, 1, 1).sqrt() + 1e-5) *
                cbn.weight.view(1, -1, 1, 1))
    torch.testing.assert_close(cbn(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('momentum', [0.1, None])
def test_windowed_running_stats_follow_batchnorm(momentum):
    """With a window the running statistics still come from the current
    batch alone (official code): the same as BatchNorm's, up to rounding
    (``momentum=None``: the cumulative average, a factor computed on the
    device)."""
    conv, bn, cbn = _pair((2, 6, 5, 7), momentum=momentum, buffer_num=2)
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(2, 6, 5, 7, generator=generator) * 3 + 1
        _step(conv, bn.train(), x, torch.ones(2, 6, 5, 7))
        _step(conv, cbn.train(), x, torch.ones(2, 6, 5, 7))
    assert len(cbn.window) == 2
    assert torch.equal(bn.num_batches_tracked, cbn.num_batches_tracked)
    for name in ('running_mean', 'running_var'):
        torch.testing.assert_close(getattr(cbn, name), getattr(bn, name),
                                   rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('kwargs', [
    dict(buffer_num=3, burnin=0),  # the window from the first call
    dict(buffer_num=3, burnin=0, eps_in_sqrt=False, plain_var='unbiased'),
    dict(buffer_num=0, eps_in_sqrt=False, plain_var='unbiased'),
    dict(buffer_num=3, burnin=0, rho=0.0),  # naive CBN
], ids=['window', 'window-official', 'plain-official', 'naive'])
def test_one_value_per_channel_is_an_error_like_batchnorm(kwargs):
    """A batch of 1 on 1x1 maps: BatchNorm raises; so must every training
    path of CBN (it would output its bias with no gradient), naming the
    layer and the fix, and leave the layer's state untouched."""
    conv = nn.Conv2d(4, 4, 1)
    cbn = CBN(4, **kwargs)
    x = torch.randn(1, 4, 1, 1)
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        nn.BatchNorm2d(4)(conv(x))
    with pytest.raises(ValueError, match=r'visrep\.CBN.*more than 1 value '
                       r'per channel when training.*\(1, 4, 1, 1\).*Fix'):
        cbn(conv(x))
    assert cbn.iter_count == 0 and int(cbn.num_batches_tracked) == 0
    cbn(conv(torch.randn(2, 4, 1, 1)))  # two values per channel: fine
    cbn.eval()
    assert cbn(conv(x)).shape == x.shape  # eval uses the running stats
