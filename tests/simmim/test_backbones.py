"""SimMIM encoders: mask token placement, official init, drop path, freezing."""
import pytest
import torch
from mmengine.registry import DefaultScope
from torch import nn

SWIN = dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2])
VIT = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)


def _build(cfg):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


ENCODERS = {
    'swin_v1': (dict(type='visrep.MaskedSwinTransformerV1', arch=SWIN,
                     img_size=32, window_size=4, out_indices=(1, ),
                     drop_path_rate=0.), 'stages', 8),
    'swin_v2': (dict(type='visrep.MaskedSwinTransformerV2',
                     arch=dict(embed_dims=16, depths=(2, 2),
                               num_heads=(1, 2)),
                     window_size=4, out_indices=(1, ), drop_path_rate=0.),
                'layers', 8),
    'vit': (dict(type='visrep.MaskedSimMIMViT', arch=VIT, img_size=32,
                 drop_path_rate=0.), 'layers', 2),
}


@pytest.mark.parametrize('name', list(ENCODERS))
def test_mask_token_replaces_exactly_the_masked_patch_tokens(name):
    cfg, blocks, grid = ENCODERS[name]
    torch.manual_seed(0)
    model = _build(cfg).eval()
    x = torch.randn(2, 3, 32, 32)
    mask = (torch.rand(2, grid, grid) > 0.5).long()
    seen = {}
    first = getattr(model, blocks)[0]
    hook = first.register_forward_pre_hook(
        lambda module, args: seen.__setitem__('x', args[0].clone()))
    with torch.no_grad():
        plain = model(x)
        model(x, mask)
        masked_input = seen['x']
        tokens = model.patch_embed(x)
        tokens = tokens[0] if isinstance(tokens, tuple) else tokens
        unmasked = model(x, torch.zeros_like(mask))
    hook.remove()
    tokens = tokens.reshape(2, grid * grid, -1)
    w = mask.reshape(2, grid * grid, 1).float()
    expected = tokens * (1 - w) + model.mask_token.reshape(1, 1, -1) * w
    got = masked_input.reshape(2, -1, tokens.shape[-1])
    if name == 'vit':  # behind the CLS token
        got = got[:, 1:]
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(unmasked[0], plain[0])  # all-zero mask


def test_mask_of_the_wrong_size_is_explained():
    model = _build(ENCODERS['swin_v1'][0])
    with pytest.raises(ValueError, match='input_size/model_patch_size'):
        model(torch.randn(1, 3, 32, 32), torch.zeros(1, 4, 4))


def test_vit_drops_the_mlp_branch_once_like_the_official_block():
    """mmpretrain's BEiTViT applies DropPath inside the FFN *and* in the
    block; ours leaves the FFN deterministic, the block drops once."""
    model = _build(dict(type='visrep.SimMIMViT', arch=VIT, img_size=32,
                        drop_path_rate=0.5)).train()
    layer = model.layers[-1]
    assert isinstance(layer.ffn.dropout_layer, nn.Identity)
    x = torch.randn(64, 5, 32)
    torch.testing.assert_close(layer.ffn(x), layer.ffn(x))
    from mmpretrain.models.backbones import BEiTViT
    stock = BEiTViT(arch=VIT, img_size=32, drop_path_rate=0.5)
    assert not isinstance(stock.layers[-1].ffn.dropout_layer, nn.Identity)


def test_vit_official_initialisation():
    masked = _build(dict(type='visrep.MaskedSimMIMViT', arch=VIT, img_size=32))
    plain = _build(dict(type='visrep.SimMIMViT', arch=VIT, img_size=32))
    for name, param in masked.named_parameters():
        if name.endswith('relative_position_bias_table'):
            assert not param.any(), name  # zero, as officially
        elif 'gamma' in name:
            assert torch.all(param == 0.1), name
        elif name.endswith('qkv.weight'):
            # trunc_normal(0.02) cut at +-std in pre-training (official)
            assert param.abs().max() <= 0.02 + 1e-7, name
    assert plain.layers[0].attn.qkv.weight.abs().max() > 0.02  # cut at +-2
    # fix_init_weight: proj / fc2 of layer i scaled by 1/sqrt(2 (i + 1))
    for i, layer in enumerate(masked.layers):
        std = layer.attn.proj.weight.std().item()
        ratio = layer.ffn.layers[1].weight.std().item() / std
        assert ratio == pytest.approx(1.0, abs=0.15)
        assert std * (2 * (i + 1))**0.5 == pytest.approx(
            masked.layers[0].attn.qkv.weight.std().item(), rel=0.15)


def test_frozen_weights_keep_drop_path_active():
    model = _build(dict(type='visrep.SwinTransformerV1', arch=SWIN,
                        img_size=32, window_size=4, out_indices=(1, ),
                        drop_path_rate=0.5, frozen_weights=True)).train()
    assert not any(p.requires_grad for p in model.parameters())
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(0)
    a = model(x)[0]
    torch.manual_seed(1)
    b = model(x)[0]
    assert not torch.allclose(a, b)  # stochastic depth still drawn
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0])


def test_swin_v1_official_init():
    model = _build(dict(type='visrep.SwinTransformerV1', arch=SWIN,
                        img_size=32, window_size=4, out_indices=(1, )))
    qkv = model.stages[0].blocks[0].attn.w_msa.qkv
    assert qkv.weight.std().item() == pytest.approx(0.02, rel=0.15)
    assert not qkv.bias.any()
