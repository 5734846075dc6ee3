"""CBN against an independent transcription of the official algorithm.

``_Reference`` follows the official layer step by step, in its own way: the
statistic gradients from two ``torch.autograd.grad`` calls, ``E[x^2]`` kept
per entry, ``sigma^2 = avg(E[x^2]) - avg(mu)^2``, Python lists for the past
iterations, the ``iter_count > burnin`` switch.  Our layer (closed-form
gradients, a ring of ``(mu, var)``, a pooled-variance formula) must give the
same outputs and the same gradients for the input, the conv weight and the
affine parameters over several SGD steps, in float64.
"""
import pytest
import torch
from torch import nn

from visrep.projects.cbn import CBN


class _Reference:
    """The official CBN algorithm (numerics chosen by the switches)."""

    def __init__(self, channels, buffer_num, rho, burnin, eps_in_sqrt,
                 plain_var, negative_var, two_stage=True):
        self.buffer_num, self.rho, self.burnin = buffer_num, rho, burnin
        self.two_stage = two_stage
        self.pooled = []  # per call: past entries averaged in
        self.eps_in_sqrt, self.plain_var = eps_in_sqrt, plain_var
        self.negative_var = negative_var
        self.weight = nn.Parameter(torch.rand(channels, dtype=torch.double))
        self.bias = nn.Parameter(torch.rand(channels, dtype=torch.double))
        self.past = []  # newest first: (mu, meanx2, dmu, dmeanx2, W)
        self.iter_count = 0

    def __call__(self, x, conv_weight):
        self.iter_count += 1
        if self.two_stage:  # official _update_buffer_num
            window = self.buffer_num if self.iter_count > self.burnin else 0
        else:
            window = int(self.buffer_num *
                         min(self.iter_count / self.burnin, 1.0))
        self.pooled.append(len(self.past) if window > 0 else 0)
        dims = [0] + list(range(2, x.dim()))
        if window > 0:
            mu = x.mean(dims)
            meanx2 = (x * x).mean(dims)
            dmu = torch.autograd.grad(mu.sum(), conv_weight,
                                      retain_graph=True)[0]
            dmeanx2 = torch.autograd.grad(meanx2.sum(), conv_weight,
                                          retain_graph=True)[0]
            mus, meanx2s = [mu], [meanx2]
            for old_mu, old_meanx2, old_dmu, old_dmeanx2, old_w in self.past:
                delta = conv_weight.detach() - old_w
                mus.append(old_mu +
                           self.rho * (old_dmu * delta).flatten(1).sum(1))
                meanx2s.append(old_meanx2 + self.rho *
                               (old_dmeanx2 * delta).flatten(1).sum(1))
            mus, meanx2s = torch.stack(mus), torch.stack(meanx2s)
            if self.negative_var == 'max':
                meanx2s = torch.maximum(meanx2s, mus**2)
            valid = (meanx2s - mus**2 >= 0).double()
            count = valid.sum(0)
            mean = (mus * valid).sum(0) / count
            var = (meanx2s * valid).sum(0) / count - mean**2
            entry = (mu.detach(), meanx2.detach(), dmu, dmeanx2,
                     conv_weight.detach().clone())
            self.past = [entry] + self.past[:window - 1]
        else:
            mean = x.mean(dims)
            var = x.var(dims, unbiased=self.plain_var == 'unbiased')
        shape = (1, -1) + (1, ) * (x.dim() - 2)
        if self.eps_in_sqrt:
            normed = (x - mean.view(shape)) / (var.view(shape) + 1e-5).sqrt()
        else:
            normed = (x - mean.view(shape)) / (var.view(shape).sqrt() + 1e-5)
        return normed * self.weight.view(shape) + self.bias.view(shape)


def _run(norm_fn, conv, params, inputs, lr):
    """SGD steps of conv + norm; outputs and gradients of every step."""
    records = []
    optimizer = torch.optim.SGD(list(conv.parameters()) + params, lr=lr)
    for x, target in inputs:
        x = x.clone().requires_grad_()
        out = norm_fn(conv(x))
        loss = ((out - target)**2).mean()
        optimizer.zero_grad()
        loss.backward()
        records.append([out.detach(), x.grad.clone()] +
                       [p.grad.clone() for p in conv.parameters()] +
                       [p.grad.clone() for p in params])
        optimizer.step()
    return records


@pytest.mark.parametrize('options', [
    dict(eps_in_sqrt=True, plain_var='biased', negative_var='drop',
         groups=1, rho=1.0),
    dict(eps_in_sqrt=False, plain_var='unbiased', negative_var='drop',
         groups=2, rho=1.0),  # the official code's numerics
    dict(eps_in_sqrt=True, plain_var='biased', negative_var='max',
         groups=1, rho=1.0),
    dict(eps_in_sqrt=True, plain_var='biased', negative_var='drop',
         groups=1, rho=0.0),  # naive CBN
    dict(eps_in_sqrt=True, plain_var='biased', negative_var='drop',
         groups=3, rho=40.0),  # large rho: some entries go negative
    dict(eps_in_sqrt=True, plain_var='biased', negative_var='drop',
         groups=1, rho=1.0, kernel=1),  # matrix products, reused buffers
], ids=['default', 'official', 'paper-max', 'naive', 'drop-negative',
        'pointwise'])
def test_matches_reference_over_sgd_steps(options):
    groups, rho = options.pop('groups'), options.pop('rho')
    kernel = options.pop('kernel', 3)
    torch.manual_seed(0)
    conv = nn.Conv2d(6, 6, kernel, padding=kernel // 2,
                     groups=groups).double()
    conv_ref = nn.Conv2d(6, 6, kernel, padding=kernel // 2,
                         groups=groups).double()
    conv_ref.load_state_dict(conv.state_dict())
    reference = _Reference(6, buffer_num=3, rho=rho, burnin=2, **options)
    ours = CBN(6, buffer_num=3, rho=rho, burnin=2, **options).double()
    with torch.no_grad():
        ours.weight.copy_(reference.weight)
        ours.bias.copy_(reference.bias)
    generator = torch.Generator().manual_seed(1)
    inputs = [(torch.randn(2, 6, 5, 5, generator=generator,
                           dtype=torch.double),
               torch.randn(2, 6, 5, 5, generator=generator,
                           dtype=torch.double)) for _ in range(8)]
    got = _run(ours, conv, list(ours.parameters()), inputs, lr=0.5)
    expected = _run(lambda y: reference(y, conv_ref.weight), conv_ref,
                    [reference.weight, reference.bias], inputs, lr=0.5)
    for step, (a, b) in enumerate(zip(got, expected)):
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, rtol=1e-9, atol=1e-10,
                                       msg=f'step {step}')
    assert len(ours.window) == 3
    if rho == 40.0:
        # the large compensation made some past variances negative, so the
        # drop rule was exercised (and agreed with the reference)
        _, past_var, _ = ours.window.compensated(conv.weight, rho)
        assert (past_var < 0).any()


def test_ramp_burnin_pools_what_the_official_loop_pools():
    """two_stage=False: the window grows during the burn-in; at each step
    where it grows the official code still pools only the entries its
    previous step kept.  Outputs and gradients (which are functions of the
    pooled mean and variance) against the reference, step by step."""
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 4, 3, padding=1).double()
    conv_ref = nn.Conv2d(4, 4, 3, padding=1).double()
    conv_ref.load_state_dict(conv.state_dict())
    options = dict(buffer_num=3, rho=1.0, burnin=6, two_stage=False,
                   eps_in_sqrt=True, plain_var='biased', negative_var='drop')
    reference = _Reference(4, **options)
    ours = CBN(4, **options).double()
    with torch.no_grad():
        ours.weight.copy_(reference.weight)
        ours.bias.copy_(reference.bias)
    pooled = []  # past entries our layer averaged in, per call
    generator = torch.Generator().manual_seed(2)
    inputs = [(torch.randn(2, 4, 4, 4, generator=generator,
                           dtype=torch.double),
               torch.randn(2, 4, 4, 4, generator=generator,
                           dtype=torch.double)) for _ in range(10)]

    def norm(y):
        stored = len(ours.window)
        out = ours(y)
        pooled.append(min(stored, ours.pooled_buffer_num())
                      if ours.active_buffer_num() else 0)
        return out

    got = _run(norm, conv, list(ours.parameters()), inputs, lr=0.5)
    expected = _run(lambda y: reference(y, conv_ref.weight), conv_ref,
                    [reference.weight, reference.bias], inputs, lr=0.5)
    # buffer_num 0 1 1 2 2 3 3 3 3 3 per call; pooled one step behind
    assert reference.pooled == [0, 0, 1, 1, 2, 2, 3, 3, 3, 3]
    assert pooled == reference.pooled
    for step, (a, b) in enumerate(zip(got, expected)):
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, rtol=1e-9, atol=1e-10,
                                       msg=f'step {step}')


def test_ramp_burnin_grows_the_window():
    """two_stage=False: int(buffer_num * min(iter / burnin, 1)) entries."""
    cbn = CBN(4, buffer_num=4, burnin=8, two_stage=False)
    sizes = []
    for _ in range(10):
        cbn.iter_count += 1
        sizes.append(cbn.active_buffer_num())
    assert sizes == [0, 1, 1, 2, 2, 3, 3, 4, 4, 4]
    two_stage = CBN(4, buffer_num=4, burnin=3)
    sizes = []
    for _ in range(5):
        two_stage.iter_count += 1
        sizes.append(two_stage.active_buffer_num())
    assert sizes == [0, 0, 0, 4, 4]


@pytest.mark.parametrize('eps_in_sqrt', [True, False])
def test_pooled_norm_backward_passes_gradcheck(eps_in_sqrt):
    """The fused backward of the pooled normalisation against numerical
    derivatives (x, weight, bias), with kept and dropped past entries."""
    from visrep.projects.cbn.pooled_norm import pooled_norm
    generator = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.double)

    x = rand(3, 4, 3, 2).requires_grad_()
    weight = rand(4).requires_grad_()
    bias = rand(4).requires_grad_()
    past_mean, past_var = rand(3, 4), rand(3, 4).abs()
    keep = torch.tensor([[1.], [0.], [1.]], dtype=torch.double).expand(3, 4)
    torch.autograd.gradcheck(
        lambda *a: pooled_norm(*a, past_mean, past_var, keep, 1e-3,
                               eps_in_sqrt)[0], (x, weight, bias))
