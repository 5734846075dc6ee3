"""DNLBlock as an mmcv plugin layer in stock ResNets of every toolkit, its
init under the backbones' init_cfg, and the no-weight-decay optimizer keys."""
import importlib

import pytest
import torch
from mmcv.cnn import build_plugin_layer
from mmengine.registry import DefaultScope

from visrep.projects.dnl import NO_DECAY_QUERY_KEY, DNLBlock

PLUGIN = dict(cfg=dict(type='visrep.DNLBlock'),
              stages=(False, False, True, True), position='after_conv3')


def _build(scope, cfg):
    registry = importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        return registry.MODELS.build(cfg)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg', 'mmpretrain',
                                   'mmaction'])
def test_build_plugin_layer_from_every_scope(scope):
    importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        name, layer = build_plugin_layer(
            dict(type='visrep.DNLBlock', reduction=4), in_channels=32,
            postfix='_1')
    assert name == 'dnl_block_1' and isinstance(layer, DNLBlock)
    assert layer.planes == 8


@pytest.mark.parametrize('scope,backbone', [
    ('mmdet', 'ResNet'), ('mmseg', 'ResNetV1c')])
def test_in_stock_resnet_plugins(scope, backbone):
    model = _build(scope, dict(type=backbone, depth=50, base_channels=16,
                               plugins=[PLUGIN], init_cfg=dict(
                                   type='Kaiming', layer='Conv2d')))
    blocks = {n: m for n, m in model.named_modules()
              if isinstance(m, DNLBlock)}
    # every Bottleneck of stages 3 and 4 (6 + 3 in ResNet-50)
    assert sorted(blocks)[:2] == ['layer3.0.dnl_block', 'layer3.1.dnl_block']
    assert len(blocks) == 9
    assert blocks['layer4.2.dnl_block'].in_channels == 16 * 8 * 4
    model.init_weights()  # Kaiming on every Conv2d, then the block's own
    for block in blocks.values():
        assert 0.008 < block.conv_value.weight.std().item() < 0.012
        assert block.gamma.item() == 0.0
    outs = model(torch.randn(1, 3, 64, 64))
    assert outs[-1].shape[1] == 512


def test_mmpretrain_classifier_through_mmdet_resnet():
    """mmpretrain's own ResNet has no ``plugins``; its configs take
    mmdet's (``type='mmdet.ResNet'``)."""
    model = _build('mmpretrain', dict(
        type='ImageClassifier',
        backbone=dict(type='mmdet.ResNet', depth=50, base_channels=16,
                      out_indices=(3, ), plugins=[PLUGIN]),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=3, in_channels=512)))
    assert sum(isinstance(m, DNLBlock) for m in model.modules()) == 9
    assert model(torch.randn(2, 3, 64, 64), mode='tensor').shape == (2, 3)


@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_query_key_get_no_weight_decay(scope):
    from mmengine.optim import build_optim_wrapper
    model = _build(scope, dict(type='ResNet', depth=50, base_channels=16,
                               plugins=[PLUGIN]))
    with DefaultScope.overwrite_default_scope(scope):
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='SGD', lr=0.01, weight_decay=5e-4),
            paramwise_cfg=NO_DECAY_QUERY_KEY))
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)]: g['weight_decay']
             for g in optim.optimizer.param_groups for p in g['params']}
    block = 'layer3.0.dnl_block.'
    for name in ('conv_query.weight', 'conv_query.bias', 'conv_key.weight',
                 'conv_key.bias'):
        assert decay[block + name] == 0.0, name
    for name in ('conv_value.weight', 'conv_mask.weight', 'gamma'):
        assert decay[block + name] == 5e-4, name
    assert decay['layer3.0.conv1.weight'] == 5e-4
    zero = [n for n, d in decay.items() if d == 0.0]
    assert len(zero) == 9 * 4  # 9 blocks x query/key weight/bias


def test_mmseg_dnlnet_wd_mult_keys_are_ignored_by_mmengine():
    """mmseg's DNLNet configs ask for ``custom_keys=dict(theta=dict(
    wd_mult=0.), phi=...)``; mmengine reads only ``lr_mult``/``decay_mult``,
    so their query/key convs keep full weight decay (ours use decay_mult)."""
    from mmengine.hub import get_config
    from mmengine.optim import build_optim_wrapper
    from mmseg.models.decode_heads.dnl_head import DisentangledNonLocal2d
    cfg = get_config('mmseg::dnlnet/dnl_r50-d8_4xb2-80k_cityscapes-769x769.py')
    custom_keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
    assert custom_keys.theta == dict(wd_mult=0.0)
    model = torch.nn.Sequential(DisentangledNonLocal2d(8, temperature=0.05))
    with DefaultScope.overwrite_default_scope('mmseg'):
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='SGD', lr=0.01, weight_decay=5e-4),
            paramwise_cfg=cfg.optim_wrapper.paramwise_cfg))
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)]: g['weight_decay']
             for g in optim.optimizer.param_groups for p in g['params']}
    assert decay['0.theta.conv.weight'] == 5e-4
    assert decay['0.phi.conv.weight'] == 5e-4
