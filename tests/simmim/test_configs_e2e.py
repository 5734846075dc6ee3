"""Every SimMIM config trains on the small ImageNet set (tiny archs), and a
short pre-training through tools/train.py lowers the loss and feeds the
fine-tuning config (through the plain-backbone converter as well)."""
import glob
import math
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from _helpers import REPO_ROOT, read_scalars, run_tool
from _helpers.small_data import small_data_config
from _helpers.official_checkpoints import load_converter
from _helpers.ssl_configs import small_ssl_config

pytestmark = pytest.mark.e2e

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'simmim', '*.py')))
SMALL = osp.join(REPO_ROOT, 'configs', 'simmim', 'small')


def test_the_official_configs_are_all_here():
    names = {osp.basename(p) for p in CONFIGS}
    assert {
        'simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py',
        'simmim_swin-base-w6_8xb256-amp-800e_in1k-192px.py',
        'simmim_swin-large-w12_8xb256-amp-800e_in1k-192px.py',
        'simmim_vit-base-p16_8xb256-amp-800e_in1k-224px.py',
        'simmim_swinv2-base-w12_8xb256-amp-800e_in1k-192px.py',
        'swin-base-w6_simmim-100e-pre_8xb256-coslr-100e_in1k-192px.py',
        'swin-base-w7_simmim-100e-pre_8xb256-coslr-100e_in1k.py',
        'swin-base-w7_simmim-800e-pre_8xb256-coslr-100e_in1k.py',
        'swin-large-w14_simmim-800e-pre_8xb256-coslr-100e_in1k.py',
        'vit-base-p16_simmim-800e-pre_8xb256-coslr-100e_in1k.py',
        'swinv2-base-w14_simmim-800e-pre_8xb256-coslr-100e_in1k.py',
    } == names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = Config.fromfile(path)
    pretraining = cfg.model.type == 'visrep.SimMIM'
    if pretraining:
        cfg = small_ssl_config(cfg, work_dir=str(tmp_path))
    else:
        cfg = small_data_config(cfg, work_dir=str(tmp_path))
        cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU here
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert math.isfinite(scalars['train/loss'].current())
    if not pretraining:
        assert 'val/time' in scalars  # the evaluation ran


def test_pretraining_lowers_the_loss_and_feeds_fine_tuning(small_data_cwd,
                                                           tmp_path):
    pre, tuned = str(tmp_path / 'pre'), str(tmp_path / 'tuned')
    run_tool(['tools/train.py',
              osp.join(SMALL, 'simmim_swin-micro_small-imagenet.py'),
              '--work-dir', pre, '--seed', '0', '--cfg-options',
              'train_cfg.max_epochs=2', 'train_dataloader.num_workers=0'],
             cwd=small_data_cwd)
    losses = [r['loss'] for r in read_scalars(pre) if 'loss' in r]
    assert len(losses) == 6  # 2 epochs x 12 iterations, logged every 4
    # the reconstruction error of the masked pixels falls (measured with
    # seed 0: 0.998, 0.972 -> 0.875, 0.859)
    assert sum(losses[-2:]) < 0.95 * sum(losses[:2]), losses

    backbone = str(tmp_path / 'backbone.pth')
    load_converter('ssl_to_backbone').main(
        [osp.join(pre, 'epoch_2.pth'), backbone])
    out = run_tool(['tools/train.py',
                    osp.join(SMALL, 'swin-micro_simmim-pre_small-imagenet.py'),
                    '--work-dir', tuned, '--seed', '0', '--cfg-options',
                    f'model.backbone.init_cfg.checkpoint={backbone}',
                    'model.backbone.init_cfg.prefix=None',
                    'train_cfg.max_epochs=1', 'train_dataloader.num_workers=0',
                    'train_dataloader.dataset.indices=64',
                    'val_dataloader.num_workers=0',
                    'val_dataloader.dataset.indices=32'],
                   cwd=small_data_cwd)
    assert 'missing keys' not in out.stdout and \
        'unexpected key' not in out.stdout, out.stdout[-3000:]
    assert f'load model from: {backbone}' in out.stdout
