"""The flags mm* users know, through tools/train.py and tools/test.py."""
import os.path as osp
import pickle

import pytest
import torch

from _helpers import REPO_ROOT, read_scalars, run_tool

pytestmark = pytest.mark.e2e

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')


def test_amp_auto_scale_lr_no_validate_and_auto_resume(small_data_cwd,
                                                      tmp_path):
    work_dir = str(tmp_path / 'amp')
    proc = run_tool([
        'tools/train.py', CONFIG, '--work-dir', work_dir, '--amp',
        '--auto-scale-lr', '--no-validate', '--seed', '1', '--cfg-options',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=16',
        'default_hooks.logger.interval=1'
    ], cwd=small_data_cwd)
    # --amp without CUDA: bfloat16 autocast on CPU
    assert '--amp without CUDA: bfloat16 autocast on CPU' in proc.stdout
    assert "type='visrep.CPUAmpOptimWrapper'" in proc.stdout
    # base lr 0.1 for batch 32 -> 0.05 for batch 16
    assert 'Scaling the original LR by 0.5' in proc.stdout
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert len(records) == 25  # 400 images / 16, one epoch
    assert all(0 < r['loss'] < 20 for r in records)
    assert max(r['lr'] for r in records) <= 0.05 + 1e-9
    assert not [r for r in read_scalars(work_dir) if 'accuracy/top1' in r]

    # --resume without a path continues from the work dir's last checkpoint
    resumed = run_tool([
        'tools/train.py', CONFIG, '--work-dir', work_dir, '--resume',
        '--no-validate', '--cfg-options', 'train_cfg.max_epochs=2',
        'train_dataloader.batch_size=16'
    ], cwd=small_data_cwd)
    assert 'resumed epoch: 1, iter: 25' in resumed.stdout
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=False)
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == 50


def test_test_tool_dumps_predictions(small_data_cwd, tmp_path):
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', CONFIG, '--work-dir', work_dir,
              '--no-validate', '--cfg-options', 'train_cfg.max_epochs=1'],
             cwd=small_data_cwd)
    out = str(tmp_path / 'preds.pkl')
    proc = run_tool(['tools/test.py', CONFIG, osp.join(work_dir, 'epoch_1.pth'),
                     '--work-dir', str(tmp_path / 'test'), '--out', out],
                    cwd=small_data_cwd)
    assert 'accuracy/top1' in proc.stdout
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 100
    assert {'pred_label', 'gt_label'} <= set(predictions[0])
    missing = run_tool(['tools/test.py', CONFIG, str(tmp_path / 'nope.pth')],
                       cwd=small_data_cwd, check=False)
    assert missing.returncode == 2 and 'nope.pth' in missing.stdout
