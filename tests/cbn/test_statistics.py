"""The statistic gradients and the Taylor compensation (acceptance 2).

* closed-form ``d mu/dW`` and ``d nu/dW`` equal autograd's and a central
  finite difference, for 1-D/2-D/3-D convs with groups, stride, dilation,
  bias and non-zero padding modes;
* a compensated entry matches the statistics recomputed with the new
  weight to first order: the mean is linear in the bound conv's weight, so
  its compensation is exact, and the error of ``nu`` (and of the variance)
  shrinks quadratically with the weight step, while the uncompensated
  (naive) error shrinks only linearly.
"""
import pytest
import torch
from torch import nn

from visrep.projects.cbn import StatWindow, find_conv_call, moment_gradients
from visrep.projects.cbn.fast.dnu_products import \
    gram_is_cheaper as _gram_is_cheaper, patch_columns as _patch_columns

CONVS = {
    '1d': (lambda: nn.Conv1d(4, 6, 3, stride=2), (3, 4, 11)),
    '2d-groups-dilation': (lambda: nn.Conv2d(
        4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 9, 9)),
    '2d-stride-reflect': (lambda: nn.Conv2d(
        3, 5, 3, stride=2, padding=1, padding_mode='reflect'), (2, 3, 8, 7)),
    '2d-depthwise-nobias': (lambda: nn.Conv2d(
        4, 8, 3, padding=1, groups=4, bias=False), (2, 4, 6, 6)),
    '2d-stem-stride-padding': (lambda: nn.Conv2d(
        3, 4, 7, stride=2, padding=3), (2, 3, 9, 11)),
    '3d': (lambda: nn.Conv3d(3, 4, (1, 3, 3), padding=(0, 1, 1)),
           (2, 3, 3, 5, 5)),
    # weight-gradient convolution (more than SMALL_OUTPUT positions)
    '2d-large-output': (lambda: nn.Conv2d(3, 4, 3, padding=1),
                        (2, 3, 9, 9)),
    # matrix-product path (pointwise convs, small 2-D outputs via unfold)
    '2d-pointwise': (lambda: nn.Conv2d(5, 3, 1), (3, 5, 4, 6)),
    '2d-pointwise-stride': (lambda: nn.Conv2d(4, 6, 1, stride=2),
                            (2, 4, 7, 7)),
    # pointwise, widening: W (X X^T) + b s^T (Gram path)
    '2d-pointwise-widen': (lambda: nn.Conv2d(2, 8, 1), (2, 2, 5, 5)),
    '3d-pointwise-nobias': (lambda: nn.Conv3d(4, 6, 1, bias=False),
                            (2, 4, 2, 3, 3)),
}


def _moments(y):
    dims = [0] + list(range(2, y.dim()))
    return y.mean(dims), (y * y).mean(dims)


def _conv(name, seed=0):
    make, shape = CONVS[name]
    torch.manual_seed(seed)
    conv = make().double()
    x = torch.randn(shape, dtype=torch.double) + 0.5
    return conv, x


@pytest.mark.parametrize('name', sorted(CONVS))
def test_closed_form_gradients_equal_autograd(name):
    conv, x = _conv(name)
    y = conv(x)
    mu, nu = _moments(y)
    dmu, dnu = moment_gradients(find_conv_call(y), y)
    ref_mu = torch.autograd.grad(mu.sum(), conv.weight, retain_graph=True)[0]
    ref_nu = torch.autograd.grad(nu.sum(), conv.weight)[0]
    groups, channels = conv.groups, conv.out_channels
    # d mu / dW is stored once per group
    torch.testing.assert_close(
        dmu[:, None].expand(groups, channels // groups, *dmu.shape[1:]),
        ref_mu.view(groups, channels // groups, *ref_mu.shape[1:]),
        rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dnu, ref_nu, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('name,patches', [
    ('2d-large-output', False), ('2d-groups-dilation', False),
    ('3d', False), ('2d-stride-reflect', True), ('2d-pointwise-stride', True),
    ('2d-pointwise', True), ('3d-pointwise-nobias', True)])
def test_d_nu_path_choice(name, patches):
    """Which cases above exercise the matrix-product (im2col) path."""
    conv, x = _conv(name)
    y = conv(x)
    columns = _patch_columns(find_conv_call(y), tuple(y.shape[2:]))
    assert (columns is not None) == patches


@pytest.mark.parametrize('name,gram', [('2d-pointwise', False),
                                       ('2d-pointwise-widen', True),
                                       ('3d-pointwise-nobias', True)])
def test_gram_path_choice(name, gram):
    conv, x = _conv(name)
    channels, positions = conv.out_channels, x[:, 0].numel()
    assert _gram_is_cheaper(channels, conv.in_channels, positions) == gram
    assert find_conv_call(conv(x)).has_bias == (conv.bias is not None)


@pytest.mark.parametrize('name', sorted(CONVS))
def test_statistic_gradients_equal_finite_differences(name):
    conv, x = _conv(name, seed=1)
    y = conv(x)
    dmu, dnu = moment_gradients(find_conv_call(y), y)
    direction = torch.randn_like(conv.weight)
    eps = 1e-6
    with torch.no_grad():
        weight = conv.weight.clone()
        conv.weight.copy_(weight + eps * direction)
        mu_plus, nu_plus = _moments(conv(x))
        conv.weight.copy_(weight - eps * direction)
        mu_minus, nu_minus = _moments(conv(x))
    groups = conv.groups
    per_channel = direction.flatten(1)
    expected_mu = (dmu.flatten(1).repeat_interleave(
        conv.out_channels // groups, 0) * per_channel).sum(1)
    expected_nu = (dnu.flatten(1) * per_channel).sum(1)
    torch.testing.assert_close((mu_plus - mu_minus) / (2 * eps), expected_mu,
                               rtol=1e-7, atol=1e-8)
    torch.testing.assert_close((nu_plus - nu_minus) / (2 * eps), expected_nu,
                               rtol=1e-7, atol=1e-8)


def test_weight_found_through_autocast_copy():
    conv = nn.Conv2d(3, 4, 3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = conv(torch.randn(2, 3, 6, 6))
    call = find_conv_call(y)
    assert y.dtype == torch.bfloat16 and call.weight is conv.weight


def test_inputs_that_are_not_conv_outputs_are_explained():
    conv = nn.Conv2d(3, 4, 3)
    y = conv(torch.randn(1, 3, 5, 5))
    assert 'ReluBackward0' in find_conv_call(torch.relu(y))
    with torch.no_grad():
        assert 'without gradients' in find_conv_call(conv(torch.randn(
            1, 3, 5, 5)))
    deconv = nn.ConvTranspose2d(3, 4, 3)
    assert 'transposed' in find_conv_call(deconv(torch.randn(1, 3, 5, 5)))
    weight = nn.Parameter(torch.randn(4, 3, 3, 3))
    standardised = (weight - weight.mean()) / weight.std()
    y = nn.functional.conv2d(torch.randn(1, 3, 5, 5), standardised)
    assert 'computed' in find_conv_call(y)


def _compensation_errors(name, step):
    """Errors of the compensated and naive (mu, nu, var) after a weight step."""
    conv, x = _conv(name, seed=2)
    y = conv(x)
    mu, nu = _moments(y)
    var = nu - mu**2
    dmu, dnu = moment_gradients(find_conv_call(y), y)
    window = StatWindow(1)
    weight = conv.weight.detach().clone()
    window.push(mu.detach(), var.detach(), dmu, dnu, weight)
    direction = torch.randn(weight.shape, dtype=torch.double,
                            generator=torch.Generator().manual_seed(3))
    new_weight = weight + step * direction / direction.norm() * weight.norm()
    with torch.no_grad():
        conv.weight.copy_(new_weight)
        true_mu, true_nu = _moments(conv(x))
    true_var = true_nu - true_mu**2
    comp_mu, comp_var = (v[0] for v in window.compensated(new_weight,
                                                          1.0)[:2])
    comp_nu = comp_var + comp_mu**2
    naive_mu, naive_var = (v[0] for v in window.compensated(new_weight,
                                                            0.0)[:2])
    naive_nu = naive_var + naive_mu**2

    def err(a, b):
        return (a - b).abs().max().item()

    return (err(comp_mu, true_mu), err(comp_nu, true_nu),
            err(comp_var, true_var), err(naive_mu, true_mu),
            err(naive_nu, true_nu))


@pytest.mark.parametrize('name', ['2d-groups-dilation', '3d', '1d'])
def test_compensation_error_is_second_order(name):
    steps = (1e-1, 1e-2, 1e-3)
    errors = [_compensation_errors(name, s) for s in steps]
    for (mu_err, nu_err, var_err, naive_mu, naive_nu), step in zip(
            errors, steps):
        # the mean is linear in the bound weight: compensation is exact
        assert mu_err < 1e-12 < naive_mu, (step, mu_err, naive_mu)
        assert nu_err < naive_nu
    for coarse, fine in zip(errors, errors[1:]):
        # 10x smaller step: ~100x smaller error (2nd order) compensated,
        # ~10x (1st order) naive
        assert 60 < coarse[1] / fine[1] < 160, (coarse, fine)
        assert 60 < coarse[2] / fine[2] < 160, (coarse, fine)
        assert 6 < coarse[3] / fine[3] < 16, (coarse, fine)
        assert 6 < coarse[4] / fine[4] < 16, (coarse, fine)


def test_window_masks_all_but_the_newest_entries():
    window = StatWindow(3)
    for value in range(5):
        window.push(torch.full((2, ), float(value)), torch.ones(2))
    mu, _, _ = window.compensated(None, rho=1.0)
    assert len(window) == 3
    assert sorted(mu[window.in_use(3), 0].tolist()) == [2.0, 3.0, 4.0]
    assert sorted(mu[window.in_use(2), 0].tolist()) == [3.0, 4.0]
    assert sorted(mu[window.in_use(9), 0].tolist()) == [2.0, 3.0, 4.0]
    copy = StatWindow(3)
    copy.load_state(window.state(), window.count, window.head,
                    torch.device('cpu'))
    for w in (copy, window):
        w.push(torch.full((2, ), 5.0), torch.ones(2))
    assert torch.equal(copy.state()['mu'], window.state()['mu'])
    assert copy.head == window.head


def test_statistics_stay_fp32_under_autocast():
    """Under bf16 autocast the conv output and its weight copy are bf16, but
    the window's values are computed in fp32: ``<dmu, W>`` of the new entry
    equals the fp32 product of the weight the conv used (autocast would run
    that (grouped) matrix product in bf16, 3 significant digits)."""
    from visrep.projects.cbn import CBN
    from visrep.projects.cbn.moment_grads import mean_gradient
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 32, 1, bias=False, groups=2)
    layer = CBN(32, buffer_num=2)
    x = torch.randn(2, 16, 6, 6) + 1
    for _ in range(3):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            y = conv(x)
            call = find_conv_call(y)
            out = layer(y)
        stats = layer.window.stats[layer.window.head]
        dmu = mean_gradient(call, y).view(2, 1, -1)  # per group
        expected = (call.kernel.float().view(2, 16, -1) @ dmu.mT).view(-1)
        out.float().sum().backward()
    assert stats.dtype == torch.float32 and y.dtype == torch.bfloat16
    torch.testing.assert_close(stats[2], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('name', sorted(CONVS))
def test_gpu_patch_sum_equals_separable_sums(name):
    """The one-call patch sum used on GPUs (a weight-gradient convolution
    with ``grad_output = 1``), run here on CPU, against the separable
    slice sums: every kernel size, stride, dilation, group and padding."""
    from visrep.projects.cbn.fast.gpu_routes import \
        patch_sum_one_call as _patch_sum_on_gpu
    from visrep.projects.cbn.moment_grads import mean_patch
    conv, x = _conv(name)
    y = conv(x)
    call = find_conv_call(y)
    expected = mean_patch(call, tuple(y.shape[2:]))
    got = _patch_sum_on_gpu(call, tuple(y.shape[2:]))
    torch.testing.assert_close(got.reshape(expected.shape), expected,
                               rtol=1e-12, atol=1e-12)
