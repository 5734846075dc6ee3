"""A user's own experiment outside the repo inherits a ``visrep::`` config
and trains through ``tools/train.py`` (issue 21)."""
import math
import os.path as osp

import pytest
from _helpers.runs import (REPO_ROOT, last_checkpoint, read_scalars,
                           read_val_metrics, run_tool)
from mmengine.config import Config

BASE = 'visrep::cbn/resnet18-cbn_1xb2_small-imagenet.py'
USER_CONFIG = f"""\
_base_ = '{BASE}'
# my change: a 3-iteration CBN window instead of the base's 8
model = dict(backbone=dict(norm_cfg=dict(buffer_num=2)))
"""


@pytest.mark.e2e
def test_user_config_trains_from_outside_the_repo(small_data_cwd, tmp_path):
    project = tmp_path / 'my_project'
    project.mkdir()
    config = project / 'my_cbn_experiment.py'
    config.write_text(USER_CONFIG)
    assert not str(project).startswith(REPO_ROOT)
    assert not small_data_cwd.startswith(REPO_ROOT)
    work_dir = str(project / 'work_dir')
    # two iterations (4 training images at 2 per batch), 4 for validation
    run_tool(['tools/train.py', str(config), '--work-dir', work_dir,
              '--cfg-options', 'train_cfg.max_epochs=1',
              'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=4',
              'val_dataloader.dataset.indices=4',
              'default_hooks.logger.interval=1'],
             cwd=small_data_cwd, timeout=300)

    losses = [r['loss'] for r in read_scalars(work_dir) if 'loss' in r]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    assert 'accuracy/top1' in read_val_metrics(work_dir)
    assert osp.basename(last_checkpoint(work_dir)) == 'epoch_1.pth'
    # the run's config is the base's with the user's change
    dumped = Config.fromfile(osp.join(work_dir, config.name))
    assert dumped.model.backbone.norm_cfg.type == 'visrep.CBN'
    assert dumped.model.backbone.norm_cfg.buffer_num == 2
    assert dumped.custom_hooks[0].type == 'visrep.CBNBurnInHook'
    assert dumped.train_dataloader.batch_size == 2
