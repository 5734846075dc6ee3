"""Every CBN binds to the convolution that produces its input, in stock
mm* models, with no change to their code; layers that cannot be bound are
one error that lists them.

The expected binding is found independently: forward hooks on every conv
module record which module produced which tensor, and a forward pre-hook on
every CBN looks its input up there.
"""
import logging

import pytest
import torch
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from torch import nn

from visrep.projects.cbn import CBN, CBNBindingError

NORM = dict(type='visrep.CBN', buffer_num=2, burnin=0)


def _build(scope, cfg):
    registry = {
        'mmdet': 'mmdet.registry',
        'mmpretrain': 'mmpretrain.registry',
        'mmseg': 'mmseg.registry',
        'mmaction': 'mmaction.registry',
    }[scope]
    models = __import__(registry, fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return models.build(cfg)


def _train_and_check(model, *inputs, steps=2):
    """Two training steps; every CBN must be bound to its producing conv."""
    producers, expected = {}, {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            handles.append(module.register_forward_hook(
                lambda m, a, out, name=name: producers.__setitem__(
                    id(out), m)))
        if isinstance(module, CBN):
            handles.append(module.register_forward_pre_hook(
                lambda m, a, name=name: expected.__setitem__(
                    name, producers.get(id(a[0])))))
    model.train()
    for _ in range(steps):
        out = model(*inputs)
        outs = out if isinstance(out, (tuple, list)) else [out]
        sum(o.float().sum() for o in outs if o is not None).backward()
    for handle in handles:
        handle.remove()
    layers = {n: m for n, m in model.named_modules() if isinstance(m, CBN)}
    assert layers and set(expected) == set(layers)
    for name, layer in layers.items():
        conv = expected[name]
        assert conv is not None, name
        assert layer._bound_weight is conv.weight, name
        assert len(layer.window) == min(steps, layer.buffer_num), name
    return layers


def test_mmdet_resnet50_stem_bottlenecks_downsample():
    model = _build('mmdet', dict(type='ResNet', depth=50, norm_cfg=NORM,
                                 norm_eval=False, frozen_stages=-1))
    layers = _train_and_check(model, torch.randn(2, 3, 32, 32))
    assert {'bn1', 'layer1.0.bn3', 'layer1.0.downsample.1',
            'layer4.2.bn2'} <= set(layers)
    # layer names and so ImageNet BN checkpoints are unchanged
    assert set(model.state_dict()) >= set(
        _build('mmdet', dict(type='ResNet', depth=50)).state_dict())


def test_mmdet_fpn_and_roi_heads():
    fpn = _build('mmdet', dict(type='FPN', in_channels=[8, 16], out_channels=8,
                               num_outs=3, norm_cfg=NORM))
    feats = [torch.randn(2, 8, 16, 16, requires_grad=True),
             torch.randn(2, 16, 8, 8, requires_grad=True)]
    _train_and_check(fpn, feats)
    bbox_head = _build('mmdet', dict(
        type='Shared4Conv1FCBBoxHead', in_channels=8, conv_out_channels=8,
        fc_out_channels=16, roi_feat_size=7, num_classes=3, norm_cfg=NORM))
    _train_and_check(bbox_head, torch.randn(6, 8, 7, 7, requires_grad=True))
    mask_head = _build('mmdet', dict(
        type='FCNMaskHead', num_convs=4, in_channels=8, conv_out_channels=8,
        num_classes=3, norm_cfg=NORM))
    _train_and_check(mask_head, torch.randn(4, 8, 14, 14, requires_grad=True))


def test_mmpretrain_resnet_and_mmseg_deep_stem():
    model = _build('mmpretrain', dict(type='ResNet', depth=18, norm_cfg=NORM))
    _train_and_check(model, torch.randn(2, 3, 32, 32))
    model = _build('mmseg', dict(type='ResNetV1c', depth=18, norm_cfg=NORM))
    layers = _train_and_check(model, torch.randn(2, 3, 32, 32))
    assert {'stem.1', 'stem.4', 'stem.7'} <= set(layers)  # deep stem


def test_mmaction_resnet3d_conv3d():
    model = _build('mmaction', dict(type='ResNet3d', depth=18,
                                    pretrained=None, pretrained2d=False,
                                    norm_cfg=NORM, norm_eval=False))
    _train_and_check(model, torch.randn(2, 3, 4, 32, 32))


def test_build_norm_layer_from_every_scope_keeps_bn_names():
    for scope in ('mmdet', 'mmseg', 'mmpretrain', 'mmaction'):
        with DefaultScope.overwrite_default_scope(scope):
            name, layer = build_norm_layer(
                dict(NORM, requires_grad=False), 8, postfix=2)
        assert name == 'bn2' and isinstance(layer, CBN)
        assert not layer.weight.requires_grad and layer.buffer_num == 2


def test_unbindable_layers_are_listed_in_one_error():
    """Pre-activation ConvModules (norm before conv): the norms see the raw
    input and a ReLU output; both are named, with the fix."""
    model = nn.Sequential(
        ConvModule(4, 4, 3, padding=1, norm_cfg=NORM,
                   order=('norm', 'conv', 'act')),
        ConvModule(4, 4, 3, padding=1, norm_cfg=NORM,
                   order=('norm', 'conv', 'act')))
    model.train()
    with pytest.raises(CBNBindingError) as error:
        model(torch.randn(2, 4, 8, 8, requires_grad=True))
    message = str(error.value)
    assert '0.bn: its input is a leaf tensor' in message
    assert '1.bn: its input comes from ReluBackward0' in message
    assert 'rho=0' in message and "order=('conv', 'norm', 'act')" in message


def test_deformable_conv_is_named():
    model = _build('mmdet', dict(
        type='ResNet', depth=50, norm_cfg=NORM, norm_eval=False,
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, False, False)))
    model.train()
    with pytest.raises(CBNBindingError, match=r'layer2\.0\.bn2: its input '
                       r'comes from .*not straight from a convolution'):
        model(torch.randn(2, 3, 32, 32))


def test_naive_cbn_needs_no_convolution():
    norm = CBN(4, buffer_num=2, rho=0.0)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    for _ in range(3):
        norm(torch.relu(x))
    assert len(norm.window) == 2 and norm._bound_weight is None


def test_a_bound_layer_fed_by_another_conv_is_an_error():
    first, second = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    norm = CBN(4, buffer_num=2)
    x = torch.randn(2, 3, 6, 6)
    norm(first(x))
    with pytest.raises(CBNBindingError, match='different convolution'):
        norm(second(x))


def test_shared_layer_is_reported_once():
    """A layer called several times per forward is one window step per call
    (official); a warning says so."""

    class Shared(nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.norm = CBN(4, buffer_num=3)

        def forward(self, x):
            return [self.norm(self.conv(x)), self.norm(self.conv(x * 2))]

    model = Shared().train()
    logger = MMLogger.get_instance('cbn_shared_layer_test')
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        model(torch.randn(2, 3, 6, 6))
    finally:
        logger.removeHandler(handler)
    assert len(model.norm.window) == 2 and model.norm.iter_count == 2
    assert any('norm ran 2 times in one forward' in r for r in records)


def test_activation_checkpointing_is_an_error():
    model = _build('mmdet', dict(type='ResNet', depth=18, norm_cfg=NORM,
                                 norm_eval=False, with_cp=True))
    model.train()
    out = model(torch.randn(2, 3, 32, 32, requires_grad=True))
    with pytest.raises(RuntimeError, match='activation checkpointing'):
        sum(o.sum() for o in out).backward()
