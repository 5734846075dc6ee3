"""Video SwinV2 configs on the small Kinetics-400 set.

Every config runs in-process (tiny arch, two iterations and an evaluation);
the micro config trains from scratch with 2-process DDP through
``tools/dist_train.sh`` (which runs tools/train.py; 2 clips per process,
the config's global batch of 4) and must beat chance (5 classes that
differ only by motion), then ``tools/test.py`` evaluates its checkpoint.
"""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config

from _helpers import (REPO_ROOT, last_checkpoint, read_scalars,
                      read_test_metrics, read_val_metrics, run_tool,
                      train_in_process)
from _helpers.small_data import small_data_config
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'video_swin_v2')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
MICRO = osp.join(CONFIG_DIR, 'small',
                 'video-swinv2-micro-p244-w477_small-kinetics400.py')
CHANCE = 0.2


def test_the_paper_configs_are_all_here():
    names = {osp.basename(p) for p in CONFIGS}
    for arch in ('tiny', 'small', 'base'):
        assert any(n.startswith(f'video-swinv2-{arch}-') for n in names)
    assert sum(n.startswith('video-swinv2-giant-') for n in names) == 3


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = small_data_config(Config.fromfile(path), work_dir=str(tmp_path))
    assert cfg.model.backbone.type == 'visrep.VideoSwinTransformerV2'
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    train_in_process(cfg)


def test_micro_config_beats_chance_with_ddp_and_tools(small_data_cwd,
                                                      tmp_path):
    work_dir = str(tmp_path / 'ddp')
    # 2 clips per process: the config's global batch of 4
    run = run_tool(['tools/dist_train.sh', MICRO, '2', '--work-dir',
                    work_dir, '--seed', '0', '--cfg-options',
                    'train_dataloader.batch_size=2'], cwd=small_data_cwd,
                   env={'PORT': str(free_port())}, timeout=1200)
    assert 'distributed training runs on CPU processes (gloo' in run.stdout
    losses = [r['loss'] for r in read_scalars(work_dir) if 'loss' in r]
    assert all(math.isfinite(v) for v in losses)
    accuracy = read_val_metrics(work_dir)['acc/top1']
    assert accuracy > CHANCE, accuracy
    run_tool(['tools/test.py', MICRO, last_checkpoint(work_dir), '--work-dir',
              str(tmp_path / 'test')], cwd=small_data_cwd)
    metrics = read_test_metrics(str(tmp_path / 'test'))
    assert metrics['acc/top1'] > CHANCE, metrics
