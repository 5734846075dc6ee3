"""Official no-weight-decay sets and layer ids (get_swin_layer / get_vit_layer)
through visrep.LayerwiseOptimWrapperConstructor."""
import pytest
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

SWIN = dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2])
VIT = dict(embed_dims=32, num_layers=3, num_heads=2, feedforward_channels=64)
RATE, LR = 0.5, 1e-3


def _groups(model_cfg, layer_decay=RATE):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=LR, weight_decay=0.05),
            constructor='visrep.LayerwiseOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=layer_decay)))
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g for g in optim.optimizer.param_groups}


def _classifier(backbone, channels):
    return dict(type='ImageClassifier', backbone=backbone,
                neck=dict(type='GlobalAveragePooling') if 'Swin' in
                backbone['type'] else None,
                head=dict(type='LinearClsHead', num_classes=4,
                          in_channels=channels))


def _scale(groups, name):
    return groups[name]['lr'] / LR


def test_swin_v1_layer_ids_follow_get_swin_layer():
    groups = _groups(_classifier(dict(
        type='visrep.SwinTransformerV1', arch=SWIN, img_size=32,
        window_size=4, out_indices=(1, )), 32))
    n = 2 + 2 + 2  # blocks + embedding + last
    expect = {  # official ids: embed 0, block k -> k + 1, merging = its stage
        'backbone.patch_embed.projection.weight': 0,
        'backbone.stages.0.blocks.0.attn.w_msa.qkv.weight': 1,
        'backbone.stages.0.blocks.1.ffn.layers.1.weight': 2,
        'backbone.stages.0.downsample.reduction.weight': 2,
        'backbone.stages.1.blocks.0.norm1.weight': 3,
        'backbone.stages.1.blocks.1.attn.w_msa.proj.bias': 4,
        'backbone.norm1.weight': n - 1,
        'head.fc.weight': n - 1,
    }
    for name, layer in expect.items():
        assert _scale(groups, name) == pytest.approx(RATE**(n - 1 - layer)), \
            name
    wd = {name: g['weight_decay'] for name, g in groups.items()}
    assert wd['backbone.stages.0.blocks.0.attn.w_msa.'
              'relative_position_bias_table'] == 0.0
    assert wd['backbone.stages.0.blocks.0.attn.w_msa.qkv.bias'] == 0.0
    assert wd['backbone.stages.0.blocks.0.attn.w_msa.qkv.weight'] == 0.05
    assert wd['backbone.stages.0.downsample.reduction.weight'] == 0.05


def test_vit_layer_ids_follow_get_vit_layer():
    groups = _groups(_classifier(dict(type='visrep.SimMIMViT', arch=VIT,
                                      img_size=32), 32), layer_decay=0.65)
    n = 3 + 2
    expect = {'backbone.cls_token': 0,
              'backbone.patch_embed.projection.weight': 0,
              'backbone.layers.0.attn.qkv.weight': 1,
              'backbone.layers.2.gamma_2': 3,
              'backbone.layers.2.attn.relative_position_bias_table': 3,
              'backbone.ln2.weight': n - 1, 'head.fc.weight': n - 1}
    for name, layer in expect.items():
        assert groups[name]['lr'] / LR == pytest.approx(
            0.65**(n - 1 - layer)), name
    wd = {name: g['weight_decay'] for name, g in groups.items()}
    assert wd['backbone.cls_token'] == 0.0  # official no_weight_decay
    assert wd['backbone.layers.0.attn.q_bias'] == 0.0  # 1-D
    # official ViT: the position-bias table is decayed
    assert wd['backbone.layers.0.attn.relative_position_bias_table'] == 0.05


@pytest.mark.parametrize('backbone,token_wd', [
    (dict(type='visrep.MaskedSwinTransformerV1', arch=SWIN, img_size=32,
          window_size=4, out_indices=(1, )), 0.0),
    (dict(type='visrep.MaskedSwinTransformerV2',
          arch=dict(embed_dims=16, depths=(2, 2), num_heads=(1, 2)),
          window_size=4, out_indices=(1, )), 0.0),
    # official VisionTransformerForSimMIM keeps no_weight_decay =
    # {pos_embed, cls_token}: its mask token is decayed
    (dict(type='visrep.MaskedSimMIMViT', arch=VIT, img_size=32), 0.05),
])
def test_pretraining_mask_token_decay(backbone, token_wd):
    channels = 32
    model = dict(type='visrep.SimMIM', backbone=backbone,
                 neck=dict(type='SimMIMLinearDecoder', in_channels=channels,
                           encoder_stride=16),
                 head=dict(type='visrep.SimMIMHead', patch_size=4))
    groups = _groups(model, layer_decay=1.0)
    assert groups['backbone.mask_token']['weight_decay'] == token_wd
    assert groups['neck.decoder.0.bias']['weight_decay'] == 0.0
    assert groups['neck.decoder.0.weight']['weight_decay'] == 0.05
