"""A module registered once in the ``visrep`` scope builds from all four toolkits.

Covers the three ways OpenMMLab code builds a module: the scope's MODELS /
HOOKS registries (backbones, heads, hooks), mmcv's ``build_norm_layer`` and
``build_plugin_layer`` (inside stock ResNets), and a Runner's
``custom_hooks``.
"""
import importlib
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer, build_plugin_layer
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from visrep.registry import HOOKS, MODELS

SCOPES = ['mmdet', 'mmseg', 'mmpretrain', 'mmaction']


@MODELS.register_module(name='RegistryTestModule', force=True)
class RegistryTestModule(nn.Module):

    def __init__(self, width: int = 4):
        super().__init__()
        self.width = width


@MODELS.register_module(name='RegistryTestBatchNorm', force=True)
class RegistryTestBatchNorm(nn.BatchNorm2d):
    """A norm layer as a plugin would add it (class name says 'batch')."""


@MODELS.register_module(name='RegistryTestBatchNorm3d', force=True)
class RegistryTestBatchNorm3d(nn.BatchNorm3d):
    pass


@MODELS.register_module(name='RegistryTestPlugin', force=True)
class RegistryTestPlugin(nn.Module):
    """A plugin layer as mmcv's ``build_plugin_layer`` builds it."""
    _abbr_ = 'registry_test_plugin'

    def __init__(self, in_channels: int):
        super().__init__()
        self.in_channels = in_channels
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.scale


@HOOKS.register_module(name='RegistryTestHook', force=True)
class RegistryTestHook(Hook):

    def __init__(self, tag: str = ''):
        self.tag = tag


def toolkit_registry(scope: str):
    return importlib.import_module(f'{scope}.registry')


@pytest.mark.parametrize('scope', SCOPES)
def test_models_registry(scope):
    with DefaultScope.overwrite_default_scope(scope):
        module = toolkit_registry(scope).MODELS.build(
            dict(type='visrep.RegistryTestModule', width=7))
    assert isinstance(module, RegistryTestModule) and module.width == 7


@pytest.mark.parametrize('scope', SCOPES)
def test_build_norm_layer(scope):
    with DefaultScope.overwrite_default_scope(scope):
        name, layer = build_norm_layer(
            dict(type='visrep.RegistryTestBatchNorm'), 8, postfix=1)
    assert isinstance(layer, RegistryTestBatchNorm)
    assert name == 'bn1' and layer.num_features == 8


@pytest.mark.parametrize('scope', SCOPES)
def test_build_plugin_layer(scope):
    with DefaultScope.overwrite_default_scope(scope):
        name, layer = build_plugin_layer(
            dict(type='visrep.RegistryTestPlugin'), postfix='_x',
            in_channels=16)
    assert isinstance(layer, RegistryTestPlugin)
    assert name == 'registry_test_plugin_x' and layer.in_channels == 16


@pytest.mark.parametrize('scope', SCOPES)
def test_hooks_registry(scope):
    with DefaultScope.overwrite_default_scope(scope):
        hook = toolkit_registry(scope).HOOKS.build(
            dict(type='visrep.RegistryTestHook', tag=scope))
    assert isinstance(hook, RegistryTestHook) and hook.tag == scope


# Stock backbones of each toolkit taking the norm layer (and plugin) by config;
# plugins go into Bottleneck blocks (mmdet/mmseg BasicBlocks refuse them).
STOCK_BACKBONES = {
    'mmdet': (dict(type='ResNet', depth=50, plugins=[
        dict(cfg=dict(type='visrep.RegistryTestPlugin'),
             stages=(False, True, False, False), position='after_conv2')
    ]), 'RegistryTestBatchNorm', (1, 3, 64, 64)),
    'mmseg': (dict(type='ResNetV1c', depth=50, plugins=[
        dict(cfg=dict(type='visrep.RegistryTestPlugin'),
             stages=(False, True, False, False), position='after_conv2')
    ]), 'RegistryTestBatchNorm', (1, 3, 64, 64)),
    'mmpretrain': (dict(type='ResNet', depth=18), 'RegistryTestBatchNorm',
                   (1, 3, 64, 64)),
    'mmaction': (dict(type='ResNet3d', depth=18, pretrained2d=False),
                 'RegistryTestBatchNorm3d', (1, 3, 4, 32, 32)),
}


@pytest.mark.parametrize('scope', SCOPES)
def test_inside_stock_backbone(scope):
    cfg, norm, input_shape = STOCK_BACKBONES[scope]
    cfg = dict(cfg, norm_cfg=dict(type=f'visrep.{norm}', requires_grad=True))
    with DefaultScope.overwrite_default_scope(scope):
        backbone = toolkit_registry(scope).MODELS.build(cfg)
    norms = [m for m in backbone.modules() if type(m).__name__ == norm]
    plugins = [m for m in backbone.modules()
               if isinstance(m, RegistryTestPlugin)]
    # every BN of the stock ResNet is ours (stem, 2-3 per block, downsample)
    assert len(norms) >= 1 + 2 * 8 + 3
    assert not any(type(m) in (nn.BatchNorm2d, nn.BatchNorm3d)
                   for m in backbone.modules())
    if 'plugins' in cfg:
        assert len(plugins) == 4  # one per Bottleneck of stage 2 (ResNet-50)
    backbone.train()
    outputs = backbone(torch.randn(*input_shape))
    assert outputs is not None


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs=None, data_samples=None, mode='tensor'):
        return self.linear(inputs)


@pytest.mark.parametrize('scope', SCOPES)
def test_runner_custom_hooks(scope, tmp_path):
    runner = Runner(
        model=_ToyModel(),
        work_dir=str(tmp_path),
        default_scope=scope,
        custom_hooks=[dict(type='visrep.RegistryTestHook', tag=scope)],
        experiment_name=f'registry_test_{scope}')
    ours = [h for h in runner.hooks if isinstance(h, RegistryTestHook)]
    assert len(ours) == 1 and ours[0].tag == scope


@pytest.mark.parametrize('scope', SCOPES)
def test_unscoped_name_is_an_error_naming_it(scope):
    with DefaultScope.overwrite_default_scope(scope):
        with pytest.raises(KeyError, match='RegistryTestModule is not in the'):
            toolkit_registry(scope).MODELS.build(
                dict(type='RegistryTestModule'))


def test_scoped_lookup_imports_the_suite_without_custom_imports():
    """``type='visrep.X'`` imports visrep and its light core location on the
    first lookup (no plugin, no shared model); a plugin's name imports that
    plugin, a shared model's name its module."""
    code = '\n'.join([
        'import sys, torch',
        'from mmengine.registry import DefaultScope',
        'import mmdet.registry',
        "assert 'visrep' not in sys.modules",
        "with DefaultScope.overwrite_default_scope('mmdet'):",
        '    wrapper = mmdet.registry.OPTIM_WRAPPERS.build(dict(',
        "        type='visrep.CPUAmpOptimWrapper',",
        '        optimizer=torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1)))',
        "assert type(wrapper).__name__ == 'CPUAmpOptimWrapper'",
        "assert 'visrep.engine' in sys.modules",
        "assert 'visrep.models.swin_v1' not in sys.modules",
        "assert not [m for m in sys.modules if m.startswith('visrep.projects.')]",
        "with DefaultScope.overwrite_default_scope('mmdet'):",
        "    block = mmdet.registry.MODELS.get('visrep.DNLBlock')",
        "assert block.__module__.startswith('visrep.projects.dnl.')",
        "assert 'visrep.projects.dnl' in sys.modules",
        "with DefaultScope.overwrite_default_scope('mmdet'):",
        "    swin = mmdet.registry.MODELS.get('visrep.SwinTransformerV1')",
        "assert swin.__module__ == 'visrep.models.swin_v1'",
        "print('ok')",
    ])
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')
