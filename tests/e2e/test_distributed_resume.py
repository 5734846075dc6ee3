"""tools/dist_train.sh: 2-process DDP on CPU (gloo), stopped and resumed.

tools/dist_test.sh then evaluates the result on 2 processes.

Run A trains 2 epochs without a break.  Run B is run A stopped after
epoch 1 (its epoch-1 checkpoint alone, in a fresh work directory) and
continued with ``--resume PATH``.  The resumed run must start at iteration 7
with run A's learning rates, and end with run A's weights, momentum buffers
and scheduler state, bit for bit.

Augmentation randomness is made reproducible across the break by
non-persistent dataloader workers (mmengine re-seeds them identically every
epoch); everything else is the smoke config as users run it.
"""
import os
import os.path as osp
import shutil

import pytest
import torch

from _helpers import (REPO_ROOT, read_scalars, read_test_metrics,
                      run_tool)
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')
COMMON = [
    '--seed', '0', '--cfg-options', 'train_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1',
    'train_cfg.val_interval=100'
]


def _dist_train(cwd, work_dir, max_epochs, *extra, port):
    return run_tool(
        ['tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir] +
        COMMON + [f'train_cfg.max_epochs={max_epochs}'] + list(extra),
        cwd=cwd, env={'PORT': str(port)}, timeout=900)


def _train_records(work_dir):
    return {r['iter']: r for r in read_scalars(work_dir) if 'loss' in r}


def test_dist_train_stop_and_resume(small_data_cwd, tmp_path):
    full, broken = str(tmp_path / 'full'), str(tmp_path / 'broken')
    first = _dist_train(small_data_cwd, full, 2, port=free_port())
    assert 'distributed training runs on CPU processes (gloo' in first.stdout
    os.makedirs(broken)
    stopped = shutil.copy(osp.join(full, 'epoch_1.pth'), broken)
    resumed = run_tool(
        ['tools/dist_train.sh', CONFIG, '2', '--work-dir', broken,
         '--resume', stopped] + COMMON + ['train_cfg.max_epochs=2'],
        cwd=small_data_cwd, env={'PORT': str(free_port())}, timeout=900)
    # 400 images / (2 processes x 32) = 7 iterations per epoch
    assert 'resumed epoch: 1, iter: 7' in resumed.stdout, resumed.stdout[-3000:]

    expected = _train_records(full)
    got = _train_records(broken)  # the newest run: the resumed one
    assert sorted(got) == list(range(8, 15)), sorted(got)
    for it in got:
        assert got[it]['lr'] == expected[it]['lr'], it
        assert got[it]['loss'] == expected[it]['loss'], it

    a = torch.load(osp.join(full, 'epoch_2.pth'), weights_only=False)
    b = torch.load(osp.join(broken, 'epoch_2.pth'), weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 14
    assert a['param_schedulers'] == b['param_schedulers']
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    state_a, state_b = a['optimizer']['state'], b['optimizer']['state']
    assert state_a.keys() == state_b.keys() and state_a
    for k in state_a:
        assert torch.equal(state_a[k]['momentum_buffer'],
                           state_b[k]['momentum_buffer']), k

    # tools/dist_test.sh (2 processes) agrees with tools/test.py (1 process)
    checkpoint = osp.join(full, 'epoch_2.pth')
    run_tool(['tools/dist_test.sh', CONFIG, checkpoint, '2', '--work-dir',
              str(tmp_path / 'dist_test')], cwd=small_data_cwd,
             env={'PORT': str(free_port())}, timeout=600)
    run_tool(['tools/test.py', CONFIG, checkpoint, '--work-dir',
              str(tmp_path / 'test')], cwd=small_data_cwd, timeout=600)
    two = read_test_metrics(str(tmp_path / 'dist_test'))
    one = read_test_metrics(str(tmp_path / 'test'))
    assert two['accuracy/top1'] == one['accuracy/top1']
