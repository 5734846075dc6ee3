"""Every SwinV2 config trains and evaluates on the small data (tiny arch).

All configs run in-process through mmengine's Runner for a couple of
iterations; the Mask R-CNN and UperNet ones also go through tools/train.py
and tools/test.py.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from _helpers import REPO_ROOT, train_and_test, train_in_process
from _helpers.small_data import small_data_config

pytestmark = pytest.mark.e2e

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'swin_v2', '*.py')))


def test_the_paper_configs_are_all_here():
    names = {osp.basename(p) for p in CONFIGS}
    for arch in ('tiny', 'small', 'base'):
        for window in (8, 16):
            assert f'swinv2-{arch}-w{window}_16xb64_in1k-256px.py' in names
    for arch in ('base', 'large'):
        assert f'swinv2-{arch}-w16_in21k-pre_16xb64_in1k-256px.py' in names
        assert f'swinv2-{arch}-w24_in21k-pre_16xb64_in1k-384px.py' in names
    assert {'mask-rcnn_swinv2-t-w16_fpn_1x_coco.py',
            'mask-rcnn_swinv2-t-w16_fpn_ms-crop-3x_coco.py',
            'cascade-mask-rcnn_swinv2-t-w16_fpn_ms-3x_coco.py',
            'upernet_swinv2-t-w16_8xb2-160k_ade20k-512x512.py',
            'upernet_swinv2-t-w16_4xb2-80k_cityscapes-512x1024.py'} <= names


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = small_data_config(Config.fromfile(path), work_dir=str(tmp_path))
    assert cfg.model.backbone.type == 'visrep.SwinTransformerV2'
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    train_in_process(cfg)


@pytest.mark.parametrize('name,metric', [
    ('mask-rcnn_swinv2-t-w16_fpn_1x_coco.py', 'coco/bbox_mAP'),
    ('upernet_swinv2-t-w16_8xb2-160k_ade20k-512x512.py', 'mIoU'),
])
def test_dense_configs_through_the_tools(name, metric, small_data_cwd,
                                         tmp_path):
    cfg = small_data_config(
        Config.fromfile(osp.join(REPO_ROOT, 'configs', 'swin_v2', name)),
        train_samples=8, val_samples=8)
    cfg.train_dataloader.num_workers = 2
    config = str(tmp_path / name)
    cfg.dump(config)
    metrics = train_and_test(config, small_data_cwd, str(tmp_path / 'train'))
    assert 0 <= metrics[metric] <= 100, metrics
