"""Official SimMIM checkpoints (built with the official key names) convert and
load without missing or unexpected keys, and compute what timm computes with
the same weights (timm reads the official layouts itself)."""
import pytest
import timm
import torch
from mmengine.registry import DefaultScope

from visrep.checkpoint import CheckpointMismatchError, adapt_state_dict
from visrep.models.relpos import resize_table
from _helpers.official_checkpoints import (load_converter,
                                           official_simmim,
                                           official_simmim_vit,
                                           official_swin_v1)

SWIN = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2])
VIT = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128)


def _build(cfg):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _load_strict(model, checkpoint):
    """What mmengine does in load_from, but refusing any key mismatch."""
    model.load_state_dict(adapt_state_dict(model, checkpoint), strict=True)


def _simmim(backbone, channels, stride, patch):
    return _build(dict(
        type='visrep.SimMIM', backbone=backbone,
        neck=dict(type='SimMIMLinearDecoder', in_channels=channels,
                  encoder_stride=stride),
        head=dict(type='visrep.SimMIMHead', patch_size=patch),
        data_preprocessor=dict(type='SelfSupDataPreprocessor',
                               mean=[0., 0., 0.], std=[1., 1., 1.])))


def test_official_swin_v1_simmim_checkpoint_loads_and_matches_timm():
    encoder = official_swin_v1(16, SWIN['depths'], SWIN['num_heads'],
                               window=2, img_size=64)
    encoder['mask_token'] = torch.randn(1, 1, 16)
    checkpoint = official_simmim(encoder, channels=128, stride=32)
    model = _simmim(dict(type='visrep.MaskedSwinTransformerV1', arch=SWIN,
                         img_size=64, window_size=2, drop_path_rate=0.),
                    channels=128, stride=32, patch=4)
    _load_strict(model, checkpoint)
    torch.testing.assert_close(model.neck.decoder[0].weight,
                               checkpoint['model']['decoder.0.weight'])
    torch.testing.assert_close(model.backbone.mask_token,
                               encoder['mask_token'])

    reference = timm.create_model(
        'swin_tiny_patch4_window7_224', img_size=64, window_size=2,
        embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 2),
        num_classes=0, drop_path_rate=0.).eval()
    plain = {k: v for k, v in encoder.items() if k != 'mask_token'}
    official_to_timm = timm.models.swin_transformer.checkpoint_filter_fn
    reference.load_state_dict(official_to_timm(plain, reference))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model.backbone(x)[0].permute(0, 2, 3, 1)
        theirs = reference.forward_features(x)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_official_vit_simmim_checkpoint_loads_and_matches_timm_beit():
    encoder = official_simmim_vit(32, depth=2, num_heads=2, grid=4)
    checkpoint = official_simmim(encoder, channels=32, stride=16)
    model = _simmim(dict(type='visrep.MaskedSimMIMViT', arch=VIT,
                         img_size=64, drop_path_rate=0.),
                    channels=32, stride=16, patch=16)
    _load_strict(model, checkpoint)

    reference = timm.create_model(
        'beit_base_patch16_224', img_size=64, embed_dim=32, depth=2,
        num_heads=2, num_classes=0, use_abs_pos_emb=False,
        use_rel_pos_bias=False, use_shared_rel_pos_bias=True,
        use_fc_norm=False, init_values=0.1).eval()
    reference.load_state_dict({
        k: v for k, v in encoder.items()
        if k != 'mask_token' and 'relative_position_index' not in k})
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model.backbone(x)[0].flatten(2).transpose(1, 2)
        theirs = reference.forward_features(x)[:, 1:]
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_official_swinv2_simmim_checkpoint_loads():
    from visrep.projects.swin_v2 import SwinTransformerV2
    arch = dict(embed_dims=16, depths=(2, 2), num_heads=(1, 2))
    source = SwinTransformerV2(arch=arch, window_size=4, out_indices=(1, ))
    encoder = {('norm.' + k[len('norm1.'):] if k.startswith('norm1.') else k):
               v + 0.1 for k, v in source.state_dict().items()}
    encoder['mask_token'] = torch.randn(1, 1, 16)
    checkpoint = official_simmim(encoder, channels=32, stride=16)
    model = _simmim(dict(type='visrep.MaskedSwinTransformerV2', arch=arch,
                         window_size=4, out_indices=(1, )),
                    channels=32, stride=16, patch=4)
    _load_strict(model, checkpoint)
    torch.testing.assert_close(model.backbone.norm1.weight,
                               encoder['norm.weight'])
    torch.testing.assert_close(model.backbone.mask_token,
                               encoder['mask_token'])


def test_finetuning_reads_the_pretraining_file_and_resizes_tables(tmp_path):
    """Window 3 -> 4 (tables 5x5 -> 7x7) through init_cfg, as the fine-tune
    configs load; the SimMIM-only mask token is dropped."""
    encoder = official_swin_v1(16, SWIN['depths'], SWIN['num_heads'],
                               window=3, img_size=96)
    encoder['mask_token'] = torch.randn(1, 1, 16)
    path = str(tmp_path / 'simmim.pth')
    torch.save(official_simmim(encoder, channels=128, stride=32), path)
    backbone = _build(dict(
        type='visrep.SwinTransformerV1', arch=SWIN, img_size=128,
        window_size=4, init_cfg=dict(type='Pretrained', checkpoint=path)))
    key = 'stages.1.blocks.0.attn.w_msa.relative_position_bias_table'
    expected = resize_table(
        encoder['layers.1.blocks.0.attn.relative_position_bias_table'], 5, 7)
    torch.testing.assert_close(backbone.state_dict()[key], expected)
    fc2 = backbone.stages[0].blocks[1].ffn.layers[1].weight
    torch.testing.assert_close(fc2,
                               encoder['layers.0.blocks.1.mlp.fc2.weight'])
    assert not hasattr(backbone, 'mask_token')


def test_vit_finetuning_copies_the_shared_table_into_every_block(tmp_path):
    encoder = official_simmim_vit(32, depth=2, num_heads=2, grid=4)
    path = str(tmp_path / 'simmim_vit.pth')
    torch.save(official_simmim(encoder, channels=32, stride=16), path)
    backbone = _build(dict(type='visrep.SimMIMViT', arch=VIT, img_size=96,
                           init_cfg=dict(type='Pretrained', checkpoint=path)))
    shared = encoder['rel_pos_bias.relative_position_bias_table']
    expected = resize_table(shared, 7, 11, num_extra_tokens=3)
    for layer in backbone.layers:
        torch.testing.assert_close(layer.attn.relative_position_bias_table,
                                   expected)


def test_mismatching_arch_is_an_error_listing_the_keys():
    encoder = official_swin_v1(16, SWIN['depths'], SWIN['num_heads'],
                               window=2, img_size=64)
    backbone = _build(dict(type='visrep.SwinTransformerV1',
                           arch=dict(embed_dims=16, depths=[2, 2, 2, 4],
                                     num_heads=[1, 1, 2, 2]),
                           img_size=64, window_size=2))
    with pytest.raises(CheckpointMismatchError,
                       match='missing keys: stages.3'):
        adapt_state_dict(backbone, {'model': encoder})


def test_our_own_checkpoint_passes_untouched():
    backbone = _build(dict(type='visrep.MaskedSwinTransformerV1', arch=SWIN,
                           img_size=64, window_size=2))
    state = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    model = _simmim(dict(type='visrep.MaskedSwinTransformerV1', arch=SWIN,
                         img_size=64, window_size=2),
                    channels=128, stride=32, patch=4)
    state.update({'neck.' + k: v for k, v in model.neck.state_dict().items()})
    assert adapt_state_dict(model, state) is state


@pytest.mark.parametrize('tool', ['simmim_to_visrep', 'ssl_to_backbone'])
def test_converter_tools_write_a_plain_backbone(tool, tmp_path):
    encoder = official_swin_v1(16, SWIN['depths'], SWIN['num_heads'],
                               window=2, img_size=64)
    encoder['mask_token'] = torch.randn(1, 1, 16)
    src, dst = str(tmp_path / 'in.pth'), str(tmp_path / 'out.pth')
    torch.save(official_simmim(encoder, channels=128, stride=32), src)
    args = [src, dst] + (['--backbone-only'] if tool == 'simmim_to_visrep'
                         else [])
    load_converter(tool).main(args)
    saved = torch.load(dst, weights_only=False)['state_dict']
    assert not any(k.startswith(('backbone.', 'encoder.')) or k == 'mask_token'
                   for k in saved)
    # loads with no missing / unexpected key into a detection-style backbone
    backbone = _build(dict(type='visrep.SwinTransformerV1', arch=SWIN,
                           img_size=64, window_size=2,
                           out_indices=(0, 1, 2, 3)))
    adapted = adapt_state_dict(backbone, {'state_dict': saved})
    missing = set(backbone.state_dict()) - set(adapted)
    assert missing == {'norm0.weight', 'norm0.bias', 'norm1.weight',
                       'norm1.bias', 'norm2.weight', 'norm2.bias'}
    assert set(adapted) <= set(backbone.state_dict())
