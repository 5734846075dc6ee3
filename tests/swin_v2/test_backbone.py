"""SwinTransformerV2: parity with timm and mmpretrain, paths, shapes, options."""
import math

import pytest
import timm
import torch
from mmpretrain.models.backbones import SwinTransformerV2 as MMPSwinV2

from visrep.projects.swin_v2 import (SwinTransformerV2,
                                    split_swin_v2_checkpoint)
from visrep.projects.swin_v2.attention import WindowAttentionV2
from visrep.projects.swin_v2.windows import (log_spaced_coords_table,
                                      relative_position_index,
                                      shift_attention_mask, window_partition,
                                      window_reverse)

TOLERANCE = 1e-4


def _randomise(module, seed=0):
    """Random weights everywhere (zero-initialised post norms would hide bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    module.eval()  # mmpretrain's train() returns None
    return module


def _ours_from(peer_state_dict, **kwargs):
    ours = SwinTransformerV2(**kwargs).eval()
    backbone, _, _ = split_swin_v2_checkpoint(peer_state_dict)
    missing, unexpected = ours.load_state_dict(backbone, strict=False)
    assert not unexpected and all(k.startswith('norm') for k in missing)
    return ours


@pytest.mark.parametrize('arch,name,window,pretrained,size', [
    ('tiny', 'swinv2_tiny_window8_256', 8, (0, 0, 0, 0), (256, 256)),
    ('base', 'swinv2_base_window8_256', 8, (0, 0, 0, 0), (256, 256)),
    ('tiny', 'swinv2_tiny_window16_256', 16, (12, 12, 12, 6), (256, 256)),
    ('base', 'swinv2_base_window16_256', 16, (12, 12, 12, 6), (256, 256)),
    ('tiny', 'swinv2_tiny_window8_256', 8, (0, 0, 0, 0), (256, 512)),
], ids=['T-w8', 'B-w8', 'T-w16-pre12', 'B-w16-pre12', 'T-w8-256x512'])
def test_parity_with_timm(arch, name, window, pretrained, size):
    """timm clips windows per axis (our ``window_clip='per_axis'``) and pads
    after the cyclic shift (we pad before it, as mmpretrain and Swin's
    detection code do), so the non-square size here needs no padding; the
    padded case is compared with mmpretrain below."""
    peer = _randomise(timm.create_model(
        name, num_classes=0, img_size=size, window_size=window,
        pretrained_window_sizes=pretrained))
    ours = _ours_from(peer.state_dict(), arch=arch, window_size=window,
                      pretrained_window_sizes=pretrained,
                      window_clip='per_axis')
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = peer.forward_features(x)
        got = ours(x)[-1].permute(0, 2, 3, 1)
    assert got.shape == expected.shape
    assert (got - expected).abs().max() <= TOLERANCE


@pytest.mark.parametrize('arch,window,peer_window,pretrained,size', [
    ('tiny', 8, 8, (0, 0, 0, 0), (256, 256)),
    ('base', 8, 8, (0, 0, 0, 0), (256, 256)),
    ('tiny', 16, [16, 16, 16, 8], (12, 12, 12, 6), (256, 256)),
    ('base', 16, [16, 16, 16, 8], (12, 12, 12, 6), (256, 256)),
    ('tiny', 8, 8, (0, 0, 0, 0), (256, 320)),
], ids=['T-w8', 'B-w8', 'T-w16-pre12', 'B-w16-pre12', 'T-w8-256x320'])
def test_parity_with_mmpretrain(arch, window, peer_window, pretrained, size):
    """All four outputs; mmpretrain needs per-stage windows where ours clips."""
    peer = _randomise(MMPSwinV2(
        arch=arch, img_size=size, window_size=peer_window,
        pretrained_window_sizes=list(pretrained), out_indices=(0, 1, 2, 3)))
    ours = _ours_from(peer.state_dict(), arch=arch, window_size=window,
                      pretrained_window_sizes=pretrained,
                      out_indices=(0, 1, 2, 3))
    # the output norms of stages 0-2 exist in mmpretrain's checkpoint too
    ours.load_state_dict(split_swin_v2_checkpoint(peer.state_dict())[0])
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        for expected, got in zip(peer(x), ours(x)):
            assert got.shape == expected.shape
            assert (got - expected).abs().max() <= TOLERANCE


@pytest.mark.parametrize('use_sdpa', [True, False], ids=['sdpa', 'matmul'])
def test_fused_and_reference_attention_agree_with_gradients(use_sdpa):
    torch.manual_seed(0)
    attn = {fused: WindowAttentionV2(32, 4, (4, 4), (6, 6), fused=fused)
            for fused in (True, False)}
    _randomise(attn[True])
    attn[False].load_state_dict(attn[True].state_dict())
    attn[True].use_sdpa = use_sdpa
    x = torch.randn(6, 16, 32)
    mask = shift_attention_mask((8, 8), (4, 4), (2, 2))  # 4 windows
    outs, grads = {}, {}
    for fused, module in attn.items():
        module.train()
        xi = x.clone().requires_grad_()
        out = module(xi.repeat(4, 1, 1)[:8], mask=mask)
        out.pow(2).sum().backward()
        outs[fused] = out.detach()
        grads[fused] = [xi.grad] + [p.grad for p in module.parameters()]
    assert (outs[True] - outs[False]).abs().max() < 1e-5
    for a, b in zip(grads[True], grads[False]):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    # the position-bias MLP and the logit scale do receive gradients
    assert attn[True].cpb_mlp[0].weight.grad.abs().sum() > 0
    assert attn[True].logit_scale.grad.abs().sum() > 0


def test_log_spaced_table_matches_the_formula():
    table = log_spaced_coords_table((3, 3), (5, 5))[0]  # offsets -2..2
    offsets = torch.arange(-2, 3, dtype=torch.float32) / 4 * 8
    expected = torch.sign(offsets) * torch.log2(offsets.abs() + 1) / 3
    assert torch.allclose(table[:, 0, 0], expected)
    assert torch.allclose(table[0, :, 1], expected)
    # without a pretrained window the current one normalises: the largest
    # offset maps to log2(8 + 1) / log2(8)
    assert torch.isclose(log_spaced_coords_table((8, 8), (0, 0)).abs().max(),
                         torch.tensor(math.log2(9) / 3))
    # a window of size 1 on an axis (videos: one frame) is all zeros there
    assert log_spaced_coords_table((1, 4, 4), (0, 0, 0))[..., 0].eq(0).all()


def test_relative_position_index_and_partition_round_trip():
    index = relative_position_index((2, 3))
    assert index.shape == (6, 6) and index.max() == 3 * 5 - 1
    assert torch.equal(index.diagonal(), torch.full((6, ), 1 * 5 + 2))
    x = torch.randn(2, 8, 12, 5)
    windows = window_partition(x, (4, 3))
    assert windows.shape == (2 * 8, 12, 5)
    assert torch.equal(window_reverse(windows, (4, 3), (8, 12)), x)


def test_shift_mask_blocks_exactly_the_cross_region_pairs():
    mask = shift_attention_mask((8, 8), (4, 4), (2, 2))
    assert mask.shape == (4, 16, 16)
    assert mask[0].eq(0).all()  # top-left window: one region
    # bottom-right window mixes 4 regions of 2x2 tokens: each token sees 4
    assert mask[3].eq(0).sum(-1).tolist() == [4] * 16
    assert set(mask.unique().tolist()) == {0.0, -100.0}


@pytest.mark.parametrize('arch', ['tiny', 'small', 'base', 'large', 'huge',
                                  'giant', 't', 'g'])
def test_arch_zoo(arch):
    with torch.device('meta'):  # giant has 3B parameters: build no storage
        model = SwinTransformerV2(arch=arch)
    zoo = SwinTransformerV2.arch_zoo[{'t': 'tiny', 'g': 'giant'}.get(arch, arch)]
    assert model.embed_dims == zoo['embed_dims']
    assert len(model.all_blocks()) == sum(zoo['depths'])
    extra = sum(b.norm3 is not None for b in model.all_blocks())
    period = zoo['extra_norm_every_n_blocks']
    assert extra == (sum(d // period for d in zoo['depths']) if period else 0)


def test_arch_dict_and_bad_arch():
    model = SwinTransformerV2(arch=dict(embed_dims=16, depths=(1, 1),
                                        num_heads=(1, 2)), window_size=4,
                              out_indices=(0, 1))
    outs = model(torch.randn(1, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(1, 16, 8, 8), (1, 32, 4, 4)]
    with pytest.raises(ValueError, match='arch='):
        SwinTransformerV2(arch='medium')
    with pytest.raises(ValueError, match='window_size'):
        SwinTransformerV2(window_size=(8, 8))


@pytest.mark.parametrize('size', [(256, 256), (224, 224), (97, 131), (33, 40)])
def test_out_indices_shapes_on_any_input_size(size):
    """Windows that do not fit are padded; shapes are ceil(size / stride)."""
    model = SwinTransformerV2(arch=dict(embed_dims=16, depths=(2, 2, 2, 2),
                                        num_heads=(1, 2, 4, 8)),
                              window_size=7, out_indices=(0, 1, 2, 3),
                              window_clip='pad').eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    for i, out in enumerate(outs):
        stride = 4 * 2**i
        expected = (1, 16 * 2**i, math.ceil(size[0] / stride),
                    math.ceil(size[1] / stride))
        assert tuple(out.shape) == expected
        assert torch.isfinite(out).all()


def test_window_clip_rules_differ_only_on_non_square_maps():
    arch = dict(embed_dims=16, depths=(2, 2), num_heads=(1, 2))
    models = {rule: SwinTransformerV2(arch=arch, window_size=8,
                                      window_clip=rule).eval()
              for rule in ('official', 'per_axis')}
    _randomise(models['official'])
    models['per_axis'].load_state_dict(models['official'].state_dict())
    with torch.no_grad():
        square = torch.randn(1, 3, 64, 64)  # stage 2: 8x8 map, window 8
        wide = torch.randn(1, 3, 64, 128)  # stage 2: 8x16
        assert torch.equal(models['official'](square)[0],
                           models['per_axis'](square)[0])
        assert not torch.allclose(models['official'](wide)[0],
                                  models['per_axis'](wide)[0])


def test_frozen_stages_and_norm_eval():
    model = SwinTransformerV2(arch='tiny', frozen_stages=2,
                              out_indices=(0, 1, 2, 3))
    model.train()
    frozen = [model.patch_embed, model.layers[0], model.layers[1],
              model.norm0, model.norm1]
    for module in frozen:
        assert not module.training
        assert all(not p.requires_grad for p in module.parameters())
    assert model.layers[2].training and model.norm2.training
    assert all(p.requires_grad for p in model.layers[2].parameters())
    out = model(torch.randn(1, 3, 64, 64))[-1].sum()
    out.backward()
    assert model.layers[0].blocks[0].attn.qkv.weight.grad is None
    assert model.layers[2].blocks[0].attn.qkv.weight.grad is not None


def test_with_cp_gives_the_same_values_and_gradients():
    arch = dict(embed_dims=16, depths=(2, 2), num_heads=(2, 4))
    plain = _randomise(SwinTransformerV2(arch=arch, window_size=4,
                                         drop_path_rate=0.0))
    checkpointed = SwinTransformerV2(arch=arch, window_size=4, with_cp=True,
                                     drop_path_rate=0.0)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for model in (plain, checkpointed):
        model.train()
        model.zero_grad()
        model(x)[-1].pow(2).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)


def test_zero_initialised_post_norms():
    model = SwinTransformerV2(arch='tiny')
    model.init_weights()
    for block in model.all_blocks():
        for norm in (block.norm1, block.norm2):
            assert norm.weight.abs().sum() == 0 and norm.bias.abs().sum() == 0
        assert torch.allclose(block.attn.logit_scale,
                              torch.full_like(block.attn.logit_scale,
                                              math.log(10)))
    # every residual branch starts as identity: blocks pass inputs through
    x = torch.randn(1, 8, 8, 96)
    with torch.no_grad():
        assert torch.equal(model.layers[0].blocks[0](x), x)


def test_bf16_autocast_base_384_is_finite():
    model = SwinTransformerV2(arch='base', window_size=24,
                              pretrained_window_sizes=(12, 12, 12, 6),
                              drop_path_rate=0.0).eval()
    model.init_weights()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(torch.randn(1, 3, 384, 384))[-1]
    assert out.shape == (1, 1024, 12, 12) and out.dtype == torch.bfloat16
    assert torch.isfinite(out).all()


def test_no_weight_decay_names():
    model = SwinTransformerV2(arch=dict(embed_dims=16, depths=(2, 2),
                                        num_heads=(1, 2)))
    names = model.no_weight_decay()
    assert 'layers.0.blocks.0.attn.cpb_mlp.0.weight' in names
    assert 'layers.0.blocks.0.attn.cpb_mlp.2.weight' in names
    assert 'layers.0.blocks.0.attn.logit_scale' in names
    assert 'layers.0.blocks.0.attn.q_bias' in names
    assert 'layers.0.blocks.0.norm1.weight' in names
    assert 'layers.0.blocks.0.attn.qkv.weight' not in names
    assert 'layers.0.blocks.0.mlp.fc1.weight' not in names


@pytest.mark.parametrize('window,size', [(4, (32, 32)), (4, (32, 64)),
                                         (8, (64, 64))],
                         ids=['square', 'non-square', 'clipped-stage-2'])
def test_window_order_stage_equals_raster_blocks_with_gradients(
        window, size, monkeypatch):
    """A stage keeps tokens in window order between blocks (one gather per
    block); the per-block raster path (roll, partition, reverse, roll) is
    the reference: same outputs and gradients, shifted blocks included."""
    arch = dict(embed_dims=16, depths=(4, 2), num_heads=(2, 4))
    fast = _randomise(SwinTransformerV2(arch=arch, window_size=window,
                                        drop_path_rate=0.0,
                                        out_indices=(0, 1)))
    raster = SwinTransformerV2(arch=arch, window_size=window,
                               drop_path_rate=0.0, out_indices=(0, 1))
    raster.load_state_dict(fast.state_dict())
    for stage in raster.layers:  # force the raster path
        monkeypatch.setattr(stage, '_window_plan', lambda *a: None)
    assert fast.layers[0]._window_plan(
        (size[0] // 4, size[1] // 4), torch.device('cpu')) is not None
    x = torch.randn(2, 3, *size)
    results = []
    for model in (fast, raster):
        model.train()
        xi = x.clone().requires_grad_()
        outs = model(xi)
        sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum()
            for o in outs).backward()
        results.append(([o.detach() for o in outs], xi.grad,
                        [p.grad for p in model.parameters()]))
    (outs_a, gx_a, gp_a), (outs_b, gx_b, gp_b) = results
    for a, b in zip(outs_a, outs_b):
        assert (a - b).abs().max() < 1e-5
    assert torch.allclose(gx_a, gx_b, atol=1e-5)
    for a, b in zip(gp_a, gp_b):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_eval_position_bias_cache_follows_weight_changes():
    """Cached without gradients, recomputed whenever the MLP weights change
    -- also through ``param.data`` (mmengine's EMA), which bumps no version."""
    attn = _randomise(WindowAttentionV2(16, 2, (4, 4)))
    with torch.no_grad():
        first = attn.position_bias()
        assert attn.position_bias() is first  # reused
        attn.cpb_mlp[2].weight.data.mul_(2)  # EMA-style update
        second = attn.position_bias()
        assert second is not first and not torch.equal(second, first)
        fresh = WindowAttentionV2(16, 2, (4, 4))
        attn.load_state_dict(fresh.state_dict())
        third = attn.position_bias()
    assert torch.equal(third, fresh.position_bias().detach())
    # with gradients it is computed anew and carries them
    assert attn.position_bias().requires_grad


def test_training_mode_frees_the_eval_position_bias_cache():
    """The no-grad cache (num_heads * N * N per block) is not carried from a
    validation run into training."""
    model = SwinTransformerV2(arch=dict(embed_dims=16, depths=(2, 2),
                                        num_heads=(2, 4)),
                              img_size=32, window_size=4).eval()
    with torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
    attns = [block.attn for block in model.all_blocks()]
    assert all(attn._eval_bias is not None for attn in attns)
    model.train()
    assert all(attn._eval_bias is None for attn in attns)
