"""Every instance-segmentation config (a model with a mask head) evaluates
masks: its validation and test evaluators compute ``segm`` as well as
``bbox`` (mmdet's ``ms_3x_coco-instance.py`` base evaluates boxes only)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

import visrep  # noqa: F401  (visrep:: names, compatibility layer)
from _helpers import REPO_ROOT

#: mask R-CNN-style configs by the OpenMMLab name (tests/test_config_names.py
#: keeps the names honest); the test checks each really has a mask head
CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT)
    for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*mask-rcnn*.py'),
                       recursive=True))


def _metrics(evaluator) -> set:
    evaluators = evaluator if isinstance(evaluator, list) else [evaluator]
    found = set()
    for ev in evaluators:
        metric = ev.get('metric', 'bbox')
        found.update([metric] if isinstance(metric, str) else metric)
    return found


@pytest.mark.parametrize('config', CONFIGS)
def test_mask_configs_evaluate_segm(config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    assert 'mask_head' in cfg.model.roi_head, config
    for name in ('val_evaluator', 'test_evaluator'):
        assert {'bbox', 'segm'} <= _metrics(cfg[name]), (config, name)
