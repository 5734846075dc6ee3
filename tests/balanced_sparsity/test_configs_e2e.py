"""Every balanced-sparsity config prunes its real model on the small data.

The ImageNet configs run in-process through mmengine's Runner on a few
small ImageNet images with their own model, optimizer and hook targets; only
the hook's timing is squeezed into the short run: the 75 % ResNet-50 and the
2:4 SwinV2 prune gradually before iterations 1, 2, 3 of 4 (batches of 2),
the others once, before iteration 1 of 2 (VGG-16 at 224 px in batches of
1: its 102M-weight fc6 alone takes seconds to rank on these CPUs).
Afterwards every pruned layer must be at its target, balanced, and zero
where pruned.  The small-ImageNet config runs
through tools/train.py (stopped and resumed) and the exporter, and its
export is evaluated.
"""
import glob
import json
import math
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner import Runner

from visrep.projects.balanced_sparsity import (BalancedSparsityHook, bank_nnz,
                                        pruned_per_bank)
from _helpers import REPO_ROOT, read_scalars, run_tool
from _helpers.small_data import small_data_config

pytestmark = pytest.mark.e2e

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'balanced_sparsity')
IMAGENET_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*_in1k*.py')))
#: our config -> the stock config whose model, data and runtime it keeps
STOCK = {'vgg16_bsp_8xb32_in1k.py': 'mmpretrain::vgg/vgg16_8xb32_in1k.py',
         'resnet50_bsp75_8xb32_in1k.py':
         'mmpretrain::resnet/resnet50_8xb32_in1k.py',
         'swinv2-tiny-w8_bsp2of4_in1k-256px.py':
         osp.join(REPO_ROOT, 'configs', 'swin_v2',
                  'swinv2-tiny-w8_16xb64_in1k-256px.py')}


def _as_text(value) -> str:
    """JSON of a config value, minus the ``_scope_`` keys that
    cross-package bases add (sorted first, so each is ``"_scope_": "x", ``).
    """
    return re.sub(r'"_scope_": "\w+", ', '', json.dumps(value, sort_keys=True))


def test_the_issue_configs_are_all_here():
    names = {osp.basename(p) for p in IMAGENET_CONFIGS}
    assert names == {
        'vgg16_bsp_8xb32_in1k.py', 'resnet50_bsp50_8xb32_in1k.py',
        'resnet50_bsp75_8xb32_in1k.py', 'resnet50_bsp90_8xb32_in1k.py',
        'swinv2-tiny-w8_bsp2of4_in1k-256px.py',
        'swinv2-tiny-w8_bsp75_in1k-256px.py'}
    for path in IMAGENET_CONFIGS:
        cfg = Config.fromfile(path)
        assert cfg.load_from.startswith('https://')  # fine-tunes a release
        (hook, ) = cfg.custom_hooks
        assert hook.type == 'visrep.BalancedSparsityHook' and hook.by_epoch
        assert hook.end < cfg.train_cfg.max_epochs
        assert 'schedule' not in hook  # cubic, since end is given
    for name, stock_path in STOCK.items():
        ours = Config.fromfile(osp.join(CONFIG_DIR, name))
        stock = get_config(stock_path) if '::' in stock_path else \
            Config.fromfile(stock_path)
        for field in ('model', 'train_dataloader', 'val_dataloader',
                      'val_evaluator', 'default_hooks', 'env_cfg'):
            assert _as_text(ours[field]) == _as_text(stock[field]), \
                (name, field)


def _at_224(cfg):
    """VGG-16's classifier expects 7x7 maps: 224 px crops."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'RandomResizedCrop':
                step.scale = 224
            elif step.type == 'ResizeEdge':
                step.scale = 256
            elif step.type == 'CenterCrop':
                step.crop_size = 224
    cfg.model.get('data_preprocessor', {}).pop('size', None)


@pytest.mark.parametrize('path', IMAGENET_CONFIGS, ids=osp.basename)
def test_config_prunes_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    vgg = 'vgg' in path  # 224 px: 2 iterations of 1 image
    gradual = path.endswith(('bsp75_8xb32_in1k.py',
                             'bsp2of4_in1k-256px.py'))
    cfg = small_data_config(Config.fromfile(path),
                            train_samples=8 if gradual else 2 if vgg else 4,
                            val_samples=2, work_dir=str(tmp_path))
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    cfg.default_hooks.checkpoint = None  # VGG-16's would be 1.6 GB
    cfg.train_dataloader.batch_size = 1 if vgg else 2
    cfg.val_dataloader.batch_size = 2
    (hook_cfg, ) = cfg.custom_hooks
    if gradual:
        hook_cfg.update(by_epoch=False, begin=1, end=3, interval=1)
    else:  # one update is enough for the variants (and VGG's fc6 is slow)
        hook_cfg.update(by_epoch=False, begin=1, end=None, schedule='oneshot')
    if vgg:
        _at_224(cfg)
    if 'swinv2' in path and hook_cfg.get('bank_size') == 32:
        hook_cfg.bank_size = 16  # the tiny test arch has 16-wide rows
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())
    assert 'val/time' in runner.message_hub.log_scalars

    hook = next(h for h in runner.hooks if isinstance(h, BalancedSparsityHook))
    params = dict(runner.model.named_parameters())
    assert len(hook.layers) >= 10
    for layer in hook.layers:
        keep = hook.keeper.keep_mask(layer.param_name)
        kept = layer.bank_size - pruned_per_bank(layer.sparsity,
                                                 layer.bank_size)
        assert bank_nnz(keep, layer.bank_size).unique().tolist() == [kept]
        assert params[layer.param_name][~keep].abs().sum() == 0
    total = runner.message_hub.get_scalar('train/sparsity').current()
    if 'vgg' in path:  # fc6/fc7 at 90 %, the convs at 75 %
        assert {l.sparsity for l in hook.layers} == {0.75, 0.9}
        assert 0.75 < total < 0.9
        assert 'backbone.features.0.conv' not in {l.name for l in hook.layers}
    elif 'bsp2of4' in path:
        assert total == pytest.approx(0.5)
        assert all('cpb_mlp' not in l.name for l in hook.layers)
    else:
        target = float(osp.basename(path).split('_bsp')[1][:2]) / 100
        bank = hook.layers[0].bank_size
        assert total == pytest.approx(pruned_per_bank(target, bank) / bank)
    assert all(not l.name.startswith('head') for l in hook.layers)


SMALL = osp.join(CONFIG_DIR, 'resnet18_bsp75_small-imagenet.py')
# 32 images in batches of 8: 4 iterations per epoch; pruning from 1 to 6
COMMON = ['--seed', '0', '--cfg-options', 'train_dataloader.batch_size=8',
          'train_dataloader.dataset.indices=32', 'val_dataloader.batch_size=8',
          'val_dataloader.dataset.indices=16',
          'train_dataloader.persistent_workers=False',
          'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
          'default_hooks.logger.interval=1',
          'default_hooks.checkpoint.interval=1',
          'custom_hooks.0.begin=1', 'custom_hooks.0.end=6',
          'custom_hooks.0.interval=1']


def test_small_config_through_the_tools_stop_resume_export(
        small_data_cwd, tmp_path, converter, monkeypatch):
    """A 2-epoch run; then the same command resumed from its epoch-1
    checkpoint in another work dir (a run killed after epoch 1, resumed)."""
    full, broken = str(tmp_path / 'full'), str(tmp_path / 'broken')

    def train(work_dir, *extra):
        return run_tool(['tools/train.py', SMALL, '--work-dir', work_dir] +
                        list(extra) + COMMON +
                        ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2'],
                        cwd=small_data_cwd)

    train(full)
    os.makedirs(broken)
    shutil.copy(osp.join(full, 'epoch_1.pth'), broken)
    resumed = train(broken, '--resume', osp.join(broken, 'epoch_1.pth'))
    assert 'resumed epoch: 1, iter: 4' in resumed.stdout

    def losses(work_dir):
        return {r['iter']: (r['loss'], r['sparsity'])
                for r in read_scalars(work_dir) if 'loss' in r}

    expected, got = losses(full), losses(broken)
    assert sorted(got) == [5, 6, 7, 8]
    for it in got:
        assert got[it] == expected[it], it   # bitwise losses and sparsity
    assert expected[8][1] == pytest.approx(0.75)
    a = torch.load(osp.join(full, 'epoch_2.pth'), weights_only=False)
    b = torch.load(osp.join(broken, 'epoch_2.pth'), weights_only=False)
    for name, keep in a['balanced_sparsity']['masks'].items():
        assert torch.equal(keep, b['balanced_sparsity']['masks'][name])
        assert torch.equal(a['state_dict'][name], b['state_dict'][name])

    # the exporter's checkpoint evaluates like any other (tools/test.py runs
    # the same Runner.test(); in-process saves a fourth interpreter start)
    exported = str(tmp_path / 'sparse.pth')
    assert converter('export_balanced_sparse')(
        [osp.join(full, 'epoch_2.pth'), exported]) == 0
    cfg = Config.fromfile(SMALL)
    cfg.merge_from_dict(dict(
        work_dir=str(tmp_path / 'test'), load_from=exported,
        experiment_name='small_bs75_export_test',
        test_dataloader=dict(num_workers=0, persistent_workers=False,
                             dataset=dict(indices=16))))
    monkeypatch.chdir(small_data_cwd)
    metrics = Runner.from_cfg(cfg).test()
    assert 0 <= metrics['accuracy/top1'] <= 100
