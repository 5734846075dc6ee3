"""Every DNL config trains and evaluates on the small data.

Backbones keep their depth-50 bottlenecks (DNL plugins and mmaction's
``non_local`` flags live in them) at a quarter of the width.  One config of
each kind (segmentation, detection, video) goes through tools/train.py and
tools/test.py; the others run in-process through mmengine's Runner.
"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from visrep.projects.dnl import DNLBlock
from _helpers import REPO_ROOT, train_and_test, train_in_process
from _helpers.small_data import small_data_config

pytestmark = pytest.mark.e2e

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'dnl', '*.py')))
THROUGH_TOOLS = {
    'dnl-official_r101-d8_4xb4-30k_pascal-context-520x520.py': 'mIoU',
    'mask-rcnn_r50-dnl-c4-c5_fpn_1x_coco.py': 'coco/bbox_mAP',
    'slowonly_r50-in1k-pre-dnl_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py':
    'acc/top1',
}
#: the ADE20K R101 config differs from the R50 one in the backbone depth
#: only (test_configs.py), which the small runs set to 50: not run twice
SAME_SMALL_RUN = {'dnl-official_r101-d8_4xb4-150k_ade20k-512x512.py'}
IN_PROCESS = [p for p in CONFIGS if osp.basename(p) not in THROUGH_TOOLS
              and osp.basename(p) not in SAME_SMALL_RUN]
BASE = 16  # base channels: stage outputs 64, 128, 256, 512


def small_config(path: str, **kwargs) -> Config:
    cfg = small_data_config(Config.fromfile(path), **kwargs)
    model = cfg.model
    backbone = model.backbone
    backbone.update(depth=50, base_channels=BASE)
    if 'ResNetV1c' in backbone.type:
        backbone.stem_channels = BASE
    if 'pretrained' in backbone:
        backbone.pretrained = None
    widths = [BASE * 4 * 2**i for i in range(4)]
    if 'neck' in model:
        model.neck.in_channels = widths
    if 'decode_head' in model:
        model.decode_head.in_channels = widths[3]
        model.auxiliary_head.in_channels = widths[2]
    if 'cls_head' in model:
        model.cls_head.in_channels = widths[3]
    if 'rcnn' in model.get('test_cfg', {}):
        # few proposals (the small images hold at most three objects)
        model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    return cfg


@pytest.mark.parametrize('path', IN_PROCESS, ids=osp.basename)
def test_config_trains_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = small_config(path, val_samples=2, work_dir=str(tmp_path))
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    runner = train_in_process(cfg)
    blocks = [m for m in runner.model.modules() if isinstance(m, DNLBlock)]
    assert blocks, 'no DNL block in the model'


@pytest.mark.parametrize('name', sorted(THROUGH_TOOLS))
def test_configs_through_the_tools(name, small_data_cwd, tmp_path):
    cfg = small_config(osp.join(REPO_ROOT, 'configs', 'dnl', name),
                       train_samples=4, val_samples=2)
    config = str(tmp_path / name)
    cfg.dump(config)
    metrics = train_and_test(config, small_data_cwd, str(tmp_path / 'train'))
    metric = THROUGH_TOOLS[name]
    assert 0 <= metrics[metric] <= 100, metrics
