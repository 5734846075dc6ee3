"""No-weight-decay set and layer-wise lr decay through an optimizer constructor."""
import pytest
from mmengine.registry import DefaultScope

ARCH = dict(embed_dims=16, depths=(2, 2), num_heads=(1, 2))


def _classifier():
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='visrep.SwinTransformerV2', arch=ARCH,
                          window_size=4),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=5, in_channels=32)))


def _groups(scope, paramwise_cfg):
    from mmengine.optim import build_optim_wrapper
    model = _classifier()
    with DefaultScope.overwrite_default_scope(scope):
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            constructor='visrep.LayerwiseOptimWrapperConstructor',
            paramwise_cfg=paramwise_cfg))
    names = {id(p): n for n, p in model.named_parameters()}
    # (OptimWrapper.param_groups adds mmengine's base-settings group)
    return {names[id(g['params'][0])]: g for g in optim.optimizer.param_groups}


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_official_no_weight_decay_set(scope):
    groups = _groups(scope, {})
    wd = {name: g['weight_decay'] for name, g in groups.items()}
    block = 'backbone.layers.0.blocks.0.'
    for name in ('attn.cpb_mlp.0.weight', 'attn.cpb_mlp.2.weight',
                 'attn.logit_scale', 'attn.q_bias', 'attn.v_bias',
                 'attn.proj.bias', 'norm1.weight', 'mlp.fc1.bias'):
        assert wd[block + name] == 0.0, name
    for name in ('attn.qkv.weight', 'attn.proj.weight', 'mlp.fc1.weight'):
        assert wd[block + name] == 0.05, name
    assert wd['backbone.patch_embed.proj.weight'] == 0.05
    assert wd['head.fc.weight'] == 0.05 and wd['head.fc.bias'] == 0.0
    assert all(g['lr'] == 1e-3 for g in groups.values())  # no decay asked


def test_layer_wise_lr_decay():
    rate = 0.5
    groups = _groups('mmpretrain', dict(layer_decay_rate=rate))
    lr = {name: g['lr'] for name, g in groups.items()}
    num_layers = 2 + 2 + 2  # blocks + patch embedding + last
    assert lr['backbone.patch_embed.proj.weight'] == pytest.approx(
        1e-3 * rate**(num_layers - 1))
    assert lr['backbone.layers.0.blocks.0.attn.qkv.weight'] == pytest.approx(
        1e-3 * rate**(num_layers - 2))
    # the last block and the patch merging of its stage share a depth
    assert lr['backbone.layers.1.blocks.1.mlp.fc2.weight'] == pytest.approx(
        1e-3 * rate**(num_layers - 5))
    assert lr['backbone.layers.0.downsample.reduction.weight'] == \
        pytest.approx(lr['backbone.layers.0.blocks.1.attn.qkv.weight'])
    assert lr['backbone.norm1.weight'] == pytest.approx(1e-3)
    assert lr['head.fc.weight'] == pytest.approx(1e-3)


def test_mmpretrain_layer_decay_constructor_reads_our_depths():
    """mmpretrain's own constructor uses the backbone's get_layer_depth."""
    from mmengine.optim import build_optim_wrapper
    model = _classifier()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            constructor='LearningRateDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.5)))
    depths = {g['param_name']: g['layer_id']
              for g in optim.optimizer.param_groups}
    assert depths['backbone.patch_embed.proj.weight'] == 0
    assert depths['backbone.layers.1.blocks.0.attn.qkv.weight'] == 3
