"""DNLBlock against formulas written out directly (einsum over flattened
positions), its attention invariances, init, gradients and errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from visrep.projects.dnl import DNLBlock, DNLBlock1d, DNLBlock2d, DNLBlock3d


def _w(conv):
    return conv.weight.reshape(conv.out_channels, -1)


def _proj(conv, tokens):
    out = torch.einsum('oc,ncl->nol', _w(conv), tokens)
    return out if conv.bias is None else out + conv.bias[None, :, None]


def dnl_reference(block: DNLBlock, x: torch.Tensor) -> torch.Tensor:
    """Paper eq. / official forward, computed over flattened positions."""
    n, c = x.shape[:2]
    source = x
    if block.downsample is not None:
        kernel = {1: 2, 2: (2, 2), 3: (1, 2, 2)}[block.dim]
        pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[block.dim]
        source = pool(x, kernel, kernel)
    tokens, src = x.reshape(n, c, -1), source.reshape(n, c, -1)
    v = _proj(block.conv_value, src)
    y = 0
    if block.with_pairwise:
        q, k = _proj(block.conv_query, tokens), _proj(block.conv_key, src)
        if block.whiten == 'scalar':
            q = q - q.mean(dim=(1, 2), keepdim=True)
            k = k - k.mean(dim=(1, 2), keepdim=True)
        elif block.whiten == 'channel':
            q = q - q.mean(dim=2, keepdim=True)
            k = k - k.mean(dim=2, keepdim=True)
        logits = torch.einsum('nci,ncj->nij', q, k)
        if block.use_scale:
            logits = logits / math.sqrt(q.shape[1])
        attn = (logits / block.temperature).softmax(dim=-1)
        pair = torch.einsum('nij,ncj->nci', attn, v)
        y = pair * (block.gamma if block.gamma is not None else 1.0)
    if block.with_unary:
        u = _proj(block.conv_mask, src)[:, 0].softmax(dim=-1)
        y = y + torch.einsum('nj,ncj->nc', u, v)[..., None]
    if block.conv_out is not None:
        y = torch.einsum('oc,ncl->nol', _w(block.conv_out), y)
    return (tokens + y).reshape(x.shape)  # y may be one vector (unary only)


def _randomise(block: DNLBlock, seed: int = 0) -> DNLBlock:
    """Random weights of unit scale (the 0.01 init makes everything tiny)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return block


SHAPES = {1: (2, 8, 11), 2: (2, 8, 5, 6), 3: (2, 8, 3, 4, 6)}


@pytest.mark.parametrize('dim', [1, 2, 3])
@pytest.mark.parametrize('cfg', [
    dict(),  # official: scalar whitening, gamma, unary, no scale, no out
    dict(whiten='channel', use_scale=True, temperature=0.05),
    dict(use_out=True, downsample=True),
    dict(whiten=None, unary=False),
    dict(pairwise=False),
    dict(use_gamma=False, reduction=4),
], ids=['official', 'channel-scale-temp', 'out-downsample', 'plain',
        'unary-only', 'no-gamma-r4'])
@pytest.mark.parametrize('impl', ['auto', 'matmul'])
def test_matches_the_flattened_formula(dim, cfg, impl):
    block = _randomise(DNLBlock(8, dim=dim, attn_impl=impl, **cfg))
    x = torch.randn(SHAPES[dim], generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(block(x), dnl_reference(block, x),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('use_out', [True, False])
def test_sdpa_and_matmul_paths_agree_in_values_and_gradients(use_out):
    # float64: a scalar parameter's gradient is a sum of many terms that
    # nearly cancel, so fp32 agreement would depend on the thread count
    x = torch.randn(2, 8, 5, 6, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64)
    outs, grads = [], []
    for impl in ('sdpa', 'matmul'):
        block = _randomise(DNLBlock(8, use_out=use_out, whiten='channel',
                                    use_scale=True, attn_impl=impl).double())
        inp = x.clone().requires_grad_()
        out = block(inp)
        out.pow(2).sum().backward()
        outs.append(out)
        grads.append([inp.grad] + [p.grad for p in block.parameters()])
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-10)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('use_scale', [True, False])
def test_without_whitening_and_unary_it_is_embedded_gaussian_nonlocal(
        use_scale):
    """y = x + W_z (softmax(theta^T phi [/ sqrt(C')]) g): the non-local
    block's embedded-Gaussian form, written out, and mmcv's NonLocal2d."""
    from mmcv.cnn import NonLocal2d
    block = _randomise(DNLBlock(8, whiten=None, unary=False, use_gamma=False,
                                use_out=True, use_scale=use_scale))
    x = torch.randn(2, 8, 4, 5)
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    theta = _proj(block.conv_query, flat)
    phi = _proj(block.conv_key, flat)
    g = _proj(block.conv_value, flat)
    f = torch.einsum('nci,ncj->nij', theta, phi)
    if use_scale:
        f = f / math.sqrt(theta.shape[1])
    y = torch.einsum('nij,ncj->nci', f.softmax(-1), g)
    z = flat + torch.einsum('oc,ncl->nol', _w(block.conv_out), y)
    torch.testing.assert_close(block(x), z.reshape(x.shape))

    mmcv_nl = NonLocal2d(8, reduction=2, use_scale=use_scale)
    with torch.no_grad():
        for mine, theirs in ((block.conv_query, mmcv_nl.theta.conv),
                             (block.conv_key, mmcv_nl.phi.conv),
                             (block.conv_value, mmcv_nl.g.conv)):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
        mmcv_nl.conv_out.conv.weight.copy_(block.conv_out.weight)
        mmcv_nl.conv_out.conv.bias.zero_()
    torch.testing.assert_close(block(x), mmcv_nl(x))


def _shifted(block, name, shift):
    other = DNLBlock(block.in_channels, whiten=block.whiten)
    other.load_state_dict(block.state_dict())
    with torch.no_grad():
        getattr(other, f'conv_{name}').bias.add_(shift)
    return other


@pytest.mark.parametrize('whiten', ['scalar', 'channel', None])
def test_pairwise_rows_sum_to_one_and_whitening_invariances(whiten):
    block = _randomise(DNLBlock(8, whiten=whiten))
    x = torch.randn(2, 8, 5, 5)
    attn = block.attention_maps(x)['pairwise']
    assert attn.shape == (2, 25, 25)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 25))
    assert (attn >= 0).all()

    uniform = torch.full((4, ), 3.0)           # the same constant everywhere
    vector = torch.tensor([3.0, -2.0, 5.0, 1.0])  # a constant per channel

    def moved(name, shift):
        return _shifted(block, name, shift).attention_maps(x)['pairwise']

    # a constant added to every key never matters: it adds q_i . c to a
    # whole softmax row (with or without whitening)
    torch.testing.assert_close(moved('key', vector), attn)
    # a constant added to every query: removed by whitening -- any constant
    # per channel with the paper's per-channel mean, a uniform one with the
    # official scalar mean; without whitening it changes the attention
    if whiten == 'channel':
        torch.testing.assert_close(moved('query', vector), attn)
    if whiten == 'scalar':
        torch.testing.assert_close(moved('query', uniform), attn)
        assert not torch.allclose(moved('query', vector), attn, atol=1e-3)
    if whiten is None:
        assert not torch.allclose(moved('query', uniform), attn, atol=1e-3)


def test_unary_weights_sum_to_one_and_are_shared_by_all_positions():
    block = _randomise(DNLBlock(8, gamma_init=0.0))
    with torch.no_grad():
        block.gamma.zero_()
    x = torch.randn(1, 8, 4, 4)
    unary = block.attention_maps(x)['unary']
    torch.testing.assert_close(unary.sum(-1), torch.ones(1))
    residual = block(x) - x  # gamma = 0: only the unary term remains
    assert torch.allclose(residual, residual[..., :1, :1].expand_as(residual))


@pytest.mark.parametrize('dim', [1, 2, 3])
def test_gradcheck(dim):
    shape = {1: (1, 4, 5), 2: (1, 4, 3, 3), 3: (1, 4, 2, 2, 3)}[dim]
    block = _randomise(DNLBlock(4, dim=dim, use_out=True)).double()
    x = torch.randn(shape, dtype=torch.double, requires_grad=True)
    params = tuple(block.parameters())

    def fn(inp, *weights):
        state = dict(zip([n for n, _ in block.named_parameters()], weights))
        return torch.func.functional_call(block, state, (inp, ))

    assert torch.autograd.gradcheck(fn, (x, ) + params, eps=1e-6, atol=1e-6)


def test_official_init_and_parameter_names():
    block = DNLBlock(512)
    names = {n: tuple(p.shape) for n, p in block.named_parameters()}
    assert names == {
        'conv_value.weight': (512, 512, 1, 1),  # C -> C, no bias (use_out=False)
        'conv_query.weight': (256, 512, 1, 1), 'conv_query.bias': (256, ),
        'conv_key.weight': (256, 512, 1, 1), 'conv_key.bias': (256, ),
        'conv_mask.weight': (1, 512, 1, 1), 'conv_mask.bias': (1, ),
        'gamma': (1, )}
    for name in ('conv_value', 'conv_query', 'conv_key'):
        std = getattr(block, name).weight.std().item()
        assert 0.009 < std < 0.011, (name, std)
    assert block.conv_query.bias.abs().max() == 0 and block.gamma.item() == 0
    # gamma = 0: the pairwise term (and so query/key) does not act at init
    x = torch.randn(1, 512, 3, 3)
    before = block(x)
    with torch.no_grad():
        block.conv_query.weight.normal_()
    torch.testing.assert_close(block(x), before)


def test_zero_init_out_makes_the_block_an_identity():
    block = DNLBlock(8, use_out=True, out_norm_cfg=dict(type='BN'),
                     zero_init_out=True)
    x = torch.randn(2, 8, 3, 3)
    torch.testing.assert_close(block(x), x)
    assert type(block.out_norm).__name__ == 'BatchNorm2d'


def test_named_variants_and_output_layout():
    assert DNLBlock1d(4).dim == 1 and DNLBlock2d(4).dim == 2
    block = DNLBlock3d(4)
    assert isinstance(block.conv_value, torch.nn.Conv3d)
    out = block(torch.randn(1, 4, 2, 3, 3))
    assert out.is_contiguous()


@pytest.mark.parametrize('kwargs,match', [
    (dict(dim=4), 'dim=4'),
    (dict(whiten='ln_nostd'), "whiten='ln_nostd'"),
    (dict(reduction=16), 'reduction=16'),
    (dict(out_norm_cfg=dict(type='BN')), 'use_out=True'),
    (dict(pairwise=False, unary=False), 'enable at least one'),
    (dict(temperature=0), 'temperature=0'),
    (dict(attn_impl='flash'), "attn_impl='flash'"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DNLBlock(8, **kwargs)


def test_wrong_input_rank_names_dim():
    with pytest.raises(ValueError, match='Set `dim`'):
        DNLBlock(8)(torch.randn(1, 8, 2, 3, 3))
