"""The iCAR configs train and evaluate on the small data.

* joint iCAR (classification + captions) through tools/train.py and
  tools/test.py: both loss terms are logged, zero-shot accuracy on the
  held-out classes is reported;
* the classification-only and shallow-fusion ablations train in process;
* the few-shot probe starts, after ``ICARPrototypeInitHook``, exactly as the
  zero-shot classifier;
* the open-vocabulary heads train and evaluate through tools/train.py /
  tools/test.py on the small Kinetics-400 (ICARVideoHead) and ADE20K
  (ICARFCNHead) sets;
* the full-scale and Kornblith-12 configs build (they cannot run here).
"""
import glob
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from _helpers import (REPO_ROOT, last_checkpoint, read_scalars,
                      run_tool, train_and_test, train_in_process)
from _helpers.small_data import small_data_config

pytestmark = pytest.mark.e2e

CONFIGS = osp.join(REPO_ROOT, 'configs', 'icar')
SMALL = 'icar_swinv2-tiny_{}_small-imagenet-captions.py'


def _small(variant, work_dir, iters=3, batch=8):
    cfg = Config.fromfile(osp.join(CONFIGS, SMALL.format(variant)))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = cfg.train_cfg.val_interval = iters
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = iters
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = batch
    if 'batch_size' in cfg.train_dataloader.sampler:
        cfg.train_dataloader.sampler.batch_size = batch
    cfg.val_dataloader.dataset.indices = 10
    return cfg


def test_joint_training_through_the_tools(small_data_cwd, tmp_path):
    cfg = _small('joint', tmp_path / 'train')
    config = str(tmp_path / 'joint.py')
    cfg.dump(config)
    metrics = train_and_test(config, small_data_cwd, str(tmp_path / 'train'))
    records = [r for r in read_scalars(str(tmp_path / 'train'))
               if 'loss' in r]
    assert all(math.isfinite(r['loss_cls']) and math.isfinite(r['loss_itc'])
               for r in records) and len(records) == 3
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert metrics['mean_per_class/accuracy'] >= 0
    # zero-shot on another class list: the seen classes' validation images
    out = run_tool(['tools/analysis_tools/icar_zero_shot.py', config,
                    last_checkpoint(str(tmp_path / 'train')), '--classes',
                    'tench,goldfish,great white shark,tiger shark,hammerhead',
                    '--ann-file', 'meta/val_seen.txt', '--work-dir',
                    str(tmp_path / 'zero_shot')], cwd=small_data_cwd)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert 0 <= seen['accuracy/top1'] <= 100


@pytest.mark.parametrize('variant', ['cls-only', 'shallow-fusion'])
def test_ablations_train(variant, small_data_cwd, tmp_path, monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    runner = train_in_process(_small(variant, tmp_path, iters=2))
    scalars = runner.message_hub.log_scalars
    assert ('train/loss_itc' in scalars) == (variant == 'shallow-fusion')
    model = runner.model
    assert model.classifier == ('linear' if variant == 'shallow-fusion'
                                else 'text')


def test_few_shot_probe_starts_as_the_zero_shot_classifier(
        small_data_cwd, tmp_path, monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = _small('4-shot-probe', tmp_path, iters=2, batch=20)
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) == 20  # 4 shots x 5 classes
    from visrep.projects.icar import ICARPrototypeInitHook
    ICARPrototypeInitHook('text').before_train(runner)
    model = runner.model.eval()
    images = torch.randn(6, 3, 64, 64)
    probe = model(images)
    model.test_classifier = 'text'
    torch.testing.assert_close(probe, model(images), rtol=1e-5, atol=1e-5)
    model.test_classifier = 'linear'
    runner.train()  # the probe trains; everything else is frozen
    assert all(not p.requires_grad for n, p in model.named_parameters()
               if not n.startswith('linear_head'))


@pytest.mark.parametrize('name,metric', [
    ('icar-head_slowonly-r18_small-kinetics400.py', 'acc/top1'),
    ('icar-head_fcn-r18-d8_small-ade20k.py', 'mIoU'),
])
def test_open_vocabulary_heads_through_the_tools(name, metric,
                                                 small_data_cwd, tmp_path):
    cfg = small_data_config(Config.fromfile(osp.join(CONFIGS, name)),
                            train_samples=4, val_samples=4)
    config = str(tmp_path / name)
    cfg.dump(config)
    metrics = train_and_test(config, small_data_cwd, str(tmp_path / 'train'))
    assert 0 <= metrics[metric] <= 100, metrics


FULL = sorted(glob.glob(osp.join(CONFIGS, 'icar_swin*16xb128*.py')))
KORNBLITH = sorted(glob.glob(osp.join(CONFIGS, 'kornblith12', '[a-z]*.py')))


def test_every_kornblith_dataset_has_a_config():
    assert len(KORNBLITH) == 12
    metrics = {}
    for path in KORNBLITH:
        cfg = Config.fromfile(path)
        evaluator = cfg.test_evaluator
        types = [e['type'] for e in evaluator] if isinstance(
            evaluator, list) else [evaluator['type']]
        metrics[osp.basename(path)[:-3].split('_')[-1]] = types  # dataset
        assert cfg.model.test_class_text.classes is None  # from the dataset
    for name in ('fgvc-aircraft', 'oxford-pets', 'caltech101', 'flowers102'):
        assert 'visrep.MeanPerClassAccuracy' in metrics[name]
    assert metrics['voc2007'] == ['visrep.VOC07ElevenPointMAP']


@pytest.mark.parametrize('path', FULL, ids=osp.basename)
def test_full_scale_configs_build(path):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(path)
    assert cfg.model.class_text.classes == 'timm:imagenet-22k'
    model_cfg = cfg.model
    model_cfg.backbone.arch = 'tiny'  # the text side and the classes as is
    model_cfg.image_channels = 768
    # as the runner does: the config's scope, whatever an earlier test set
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(model_cfg)
    assert len(model.text_classifier.class_text) == 21841
    assert len(model.text_classifier.test_class_text) == 1000
