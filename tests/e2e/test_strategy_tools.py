"""A config ``strategy`` through the tools: tools/dist_train.sh trains under
mmengine's FSDPStrategy on 2 CPU processes (gloo; FlexibleRunner, --amp,
validation, a 'full' checkpoint), and tools/test.py (its ``main``, in this
process) evaluates that checkpoint with a single-process strategy."""
import os.path as osp

import pytest
import torch

from visrep.cli import test as test_cli
from _helpers import REPO_ROOT, read_scalars, run_tool
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')


def test_fsdp_through_dist_train_then_test(small_data_cwd, tmp_path,
                                           monkeypatch, capsys):
    work_dir = str(tmp_path / 'fsdp')
    proc = run_tool([
        'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir, '--amp',
        '--cfg-options', 'strategy.type=FSDPStrategy',
        'strategy.state_dict_cfg=full', 'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=50', 'default_hooks.logger.interval=1',
        'train_dataloader.dataset.indices=200', 'val_dataloader.num_workers=0',
        'train_dataloader.num_workers=0', 'val_dataloader.dataset.indices=50'
    ], cwd=small_data_cwd, env={'PORT': str(free_port())}, timeout=600)
    assert 'CPU processes (gloo, FSDPStrategy)' in proc.stdout
    assert "type='visrep.CPUAmpOptimWrapper'" in proc.stdout
    records = read_scalars(work_dir)
    assert len([r for r in records if 'loss' in r]) == 2  # 200 / (2 * 50)
    assert [r for r in records if 'accuracy/top1' in r]  # validated
    # a 'full' state dict: one file, the unwrapped model's keys
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'),
                       weights_only=False)['state_dict']
    assert 'backbone.conv1.weight' in state

    monkeypatch.chdir(small_data_cwd)
    test_cli.main([
        CONFIG, osp.join(work_dir, 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 'test'), '--cfg-options',
        'strategy.type=SingleDeviceStrategy', 'test_dataloader.num_workers=0',
        'test_dataloader.dataset.indices=50'
    ])
    assert 'accuracy/top1' in capsys.readouterr().out
