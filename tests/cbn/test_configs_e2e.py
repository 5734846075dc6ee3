"""The CBN configs train and evaluate on the small datasets (acceptance 3, 4).

* every config of configs/cbn/ runs in-process through mmengine's Runner on
  the small data (the ResNet-50 detectors with a ResNet-18 backbone and
  64-channel FPN + heads), except the small-COCO CBN Mask R-CNN, which runs
  through the tools;
* the stock mmdet Mask R-CNN with every norm_cfg switched to CBN trains
  through tools/train.py and evaluates through tools/test.py, and trains under
  2-process DDP through tools/dist_train.sh (gloo on CPU);
* stopped at iteration 6 and resumed, a CBN classifier logs the same losses
  bit for bit as an uninterrupted run (the windows are full at the break).
"""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from visrep.projects.cbn import CBN
from _helpers import (REPO_ROOT, read_scalars, read_test_metrics,
                      run_tool, train_in_process)
from _helpers.small_data import (short_run_rcnn_options,
                                 small_data_config)
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'cbn')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
SMALL_COCO = osp.join(CONFIG_DIR, 'mask-rcnn_r18_fpn_cbn_small-coco.py')
SMALL_IMAGENET = osp.join(CONFIG_DIR, 'resnet18-cbn_1xb2_small-imagenet.py')


def _narrow_detector(model, width=64):
    """R-50 FPN detectors at CPU size: a ResNet-18 backbone, 64-channel FPN
    and heads (GN's 32 groups still divide it), 100 test proposals."""
    model.backbone.depth = 18
    model.neck.in_channels = [64, 128, 256, 512]
    model.neck.out_channels = width
    model.rpn_head.in_channels = model.rpn_head.feat_channels = width
    roi_head = model.roi_head
    for part in ('bbox', 'mask'):
        if f'{part}_head' in roi_head:
            roi_head[f'{part}_roi_extractor'].out_channels = width
            roi_head[f'{part}_head'].in_channels = width
            roi_head[f'{part}_head'].conv_out_channels = width
    roi_head.bbox_head.fc_out_channels = 2 * width
    model.test_cfg.rpn.update(nms_pre=300, max_per_img=100)


def _small(path, work_dir, samples=2):
    cfg = small_data_config(Config.fromfile(path), train_samples=samples,
                            val_samples=samples, work_dir=work_dir)
    backbone = cfg.model.backbone
    if backbone.type == 'ResNet' and backbone.depth == 50 and \
            'neck' in cfg.model:
        _narrow_detector(cfg.model)
    return cfg


def test_the_paper_configs_are_all_here():
    names = {osp.basename(p) for p in CONFIGS}
    for det in ('faster-rcnn', 'mask-rcnn'):
        for norm in ('', 'bn_', 'syncbn_', 'gn_', 'cbn_'):
            assert f'{det}_r50_fpn_4conv1fc_{norm}4xb4-1x_coco.py' in names
    for norm in ('bn', 'gn', 'cbn'):
        assert f'resnet18-{norm}_8xb4_in1k.py' in names
        assert f'resnet18-{norm}_1xb2_small-imagenet.py' in names
    cfg = Config.fromfile(osp.join(
        CONFIG_DIR, 'mask-rcnn_r50_fpn_4conv1fc_cbn_4xb4-1x_coco.py'))
    # the reproduction configs use the official layer's numerics
    official = dict(eps_in_sqrt=False, plain_var='unbiased',
                    affine_init='uniform')
    norm = dict(type='visrep.CBN', buffer_num=3, rho=1.0, burnin=8,
                burnin_unit='iter', requires_grad=True, **official)
    assert cfg.model.neck.norm_cfg == norm
    faster = Config.fromfile(osp.join(
        CONFIG_DIR, 'faster-rcnn_r50_fpn_4conv1fc_cbn_4xb4-1x_coco.py'))
    assert faster.model.neck.norm_cfg == norm
    assert faster.model.roi_head.bbox_head.norm_cfg == norm
    imagenet = Config.fromfile(osp.join(CONFIG_DIR,
                                        'resnet18-cbn_8xb4_in1k.py'))
    imagenet_norm = imagenet.model.backbone.norm_cfg
    assert {k: imagenet_norm[k] for k in official} == official
    assert cfg.model.roi_head.bbox_head.norm_cfg == norm
    assert cfg.model.roi_head.mask_head.norm_cfg == norm
    assert cfg.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    backbone = cfg.model.backbone
    assert backbone.norm_eval and backbone.frozen_stages == 1
    assert cfg.train_dataloader.batch_size == 4


# the small-COCO CBN config runs through the tools below
@pytest.mark.parametrize('path', [p for p in CONFIGS if p != SMALL_COCO],
                         ids=osp.basename)
def test_config_trains_on_small_data(path, small_data_cwd, tmp_path,
                                     monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = _small(path, str(tmp_path))
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    runner = train_in_process(cfg)  # finite loss, evaluation ran
    layers = [m for m in runner.model.modules() if isinstance(m, CBN)]
    # 'syncbn' contains 'cbn': look at the name's parts
    parts = osp.basename(path)[:-3].replace('-', '_').split('_')
    assert bool(layers) == ('cbn' in parts)
    trained = [m for m in layers if m.iter_count > 0]
    assert trained and all(m._bound_weight is not None for m in trained) \
        if layers else True
    for layer in layers:
        if layer.burnin_unit == 'epoch':  # converted by CBNBurnInHook
            assert layer.iters_per_epoch == len(runner.train_dataloader)


def test_epoch_burnin_needs_an_epoch_based_loop(small_data_cwd, tmp_path,
                                                monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = _small(SMALL_IMAGENET, str(tmp_path))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = None
    with pytest.raises(ValueError, match="burnin_unit='epoch' needs an "
                       'epoch-based train_cfg'):
        Runner.from_cfg(cfg).train()


def _cbn_state(checkpoint_path):
    state = torch.load(checkpoint_path, weights_only=False)['state_dict']
    return {k: v for k, v in state.items() if 'cbn_counters' in k}


def test_mask_rcnn_cbn_through_the_tools_and_ddp(small_data_cwd, tmp_path):
    options = ['--cfg-options', 'train_cfg.max_epochs=1',
               'train_dataloader.dataset.indices=6',
               'val_dataloader.dataset.indices=4',
               'test_dataloader.dataset.indices=4'
               ] + short_run_rcnn_options()
    work_dir = str(tmp_path / 'train')
    run_tool(['tools/train.py', SMALL_COCO, '--work-dir', work_dir,
              '--seed', '0'] + options, cwd=small_data_cwd)
    losses = [r['loss'] for r in read_scalars(work_dir) if 'loss' in r]
    assert losses and all(math.isfinite(v) for v in losses)
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    counters = _cbn_state(checkpoint)
    # backbone (20 norms in ResNet-18), FPN (8), mask head (4)
    assert len(counters) == 32
    # 3 iterations, burn-in 2: the window was used once and is in the file
    assert all(c.tolist()[:2] == [3, 1] for c in counters.values())
    run_tool(['tools/test.py', SMALL_COCO, checkpoint, '--work-dir',
              str(tmp_path / 'test')] + options, cwd=small_data_cwd)
    metrics = read_test_metrics(str(tmp_path / 'test'))
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    assert 0 <= metrics['coco/segm_mAP'] <= 1

    dist_dir = str(tmp_path / 'dist')
    burnin_1 = [f'model.{part}.norm_cfg.burnin=1' for part in (
        'backbone', 'neck', 'roi_head.mask_head')]
    run = run_tool(['tools/dist_train.sh', SMALL_COCO, '2', '--work-dir',
                    dist_dir, '--seed', '0'] + options + burnin_1 +
                   ['train_dataloader.dataset.indices=8'],
                   cwd=small_data_cwd, env={'PORT': str(free_port())})
    assert 'distributed training runs on CPU processes (gloo' in run.stdout
    losses = [r['loss'] for r in read_scalars(dist_dir) if 'loss' in r]
    assert losses and all(math.isfinite(v) for v in losses)
    # 8 images / (2 processes x 2) = 2 iterations per process, burn-in 1
    counters = _cbn_state(osp.join(dist_dir, 'epoch_1.pth'))
    assert all(c.tolist()[:2] == [2, 1] for c in counters.values())


def test_stop_and_resume_is_bit_exact(small_data_cwd, tmp_path):
    common = ['--seed', '0', '--cfg-options',
              'train_dataloader.dataset.indices=12',
              'train_dataloader.persistent_workers=False',
              'model.backbone.norm_cfg.burnin=3',
              'model.backbone.norm_cfg.burnin_unit=iter',
              'default_hooks.logger.interval=1',
              'default_hooks.checkpoint.interval=1',
              'train_cfg.val_interval=9']
    full, broken = str(tmp_path / 'full'), str(tmp_path / 'broken')

    def train(work_dir, epochs, *extra):
        return run_tool(['tools/train.py', SMALL_IMAGENET, '--work-dir',
                         work_dir] + list(extra) + common +
                        [f'train_cfg.max_epochs={epochs}'],
                        cwd=small_data_cwd)

    train(full, 2)
    train(broken, 1)
    resumed = train(broken, 2, '--resume')
    # 12 images at 2 per iteration: 6 iterations per epoch
    assert 'resumed epoch: 1, iter: 6' in resumed.stdout, \
        resumed.stdout[-3000:]
    counters = _cbn_state(osp.join(broken, 'epoch_1.pth'))
    assert all(c.tolist()[:2] == [6, 3] for c in counters.values())

    def losses(work_dir):
        return {r['iter']: r['loss'] for r in read_scalars(work_dir)
                if 'loss' in r}

    expected, got = losses(full), losses(broken)
    assert sorted(got) == list(range(7, 13)), sorted(got)
    for it in got:
        assert got[it] == expected[it], it
