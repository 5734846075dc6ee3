"""Turn a full experiment config into a run on the small datasets.

``small_data_config(cfg)`` keeps everything that defines the experiment --
model type, necks, heads, losses, optimizer, constructor, schedulers, hooks
-- and swaps what only scale changes: the dataloaders and evaluators come
from the smoke config of the same dataset (``configs/smoke/``; the
evaluators keep the experiment's metrics), the datasets are cut to a few
samples, the backbone becomes a tiny version of itself (channels of necks
and heads follow), pretrained downloads are dropped, training stops after
one short epoch (or a few iterations), and two-stage detectors evaluate
their 10 best boxes per image at any score.
The e2e tests run every plugin config this way.  Backbones become tiny
through :func:`register_shrinker`; the shrinkers of the plugins' backbones
live in each plugin's test folder (``tests/<plugin>/shrinkers.py``) and
:func:`load_plugin_shrinkers` registers them all.
"""
import copy
import functools
import glob
import os.path as osp
from typing import Callable, Dict, List, Optional

from mmengine.config import Config, ConfigDict

from .runs import REPO_ROOT, load_script

#: dataset class of a config -> the smoke config that holds its small data
SMOKE_CONFIGS = {
    'CocoDataset': 'mask-rcnn_r18_fpn_small-coco.py',
    'ADE20KDataset': 'fcn_r18-d8_small-ade20k.py',
    'CityscapesDataset': 'fcn_r18-d8_small-cityscapes.py',
    'ImageNet': 'resnet18_small-imagenet.py',
    'VideoDataset': 'slowonly_r18_small-kinetics400.py',
    'PascalContextDataset': 'fcn_r18-d8_small-pascal-context.py',
}
#: the crop of the smoke image configs: classifiers shrunk onto them see it
SMOKE_CROP = 64

#: backbone type -> function(backbone cfg) -> output channels per stage
BackboneShrinker = Callable[[ConfigDict], List[int]]
BACKBONE_SHRINKERS: Dict[str, BackboneShrinker] = {}
#: the file in a test folder that registers its plugin's shrinkers
SHRINKERS_FILE = 'shrinkers.py'


def register_shrinker(backbone_type: str):
    """Teach :func:`small_data_config` how to make a backbone type tiny."""

    def wrap(fn: BackboneShrinker) -> BackboneShrinker:
        BACKBONE_SHRINKERS[backbone_type] = fn
        return fn

    return wrap


@functools.lru_cache(maxsize=None)
def load_plugin_shrinkers() -> None:
    """Run every ``tests/<folder>/shrinkers.py`` once (they register here).

    The shrinkers of a plugin's backbones live with that plugin's tests, yet
    other plugins' configs train those backbones too: loading them all here
    gives every test every shrinker, with nothing to import and nothing to
    forget.  The files are loaded by path (the test folders are not
    packages).
    """
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'tests', '*',
                                          SHRINKERS_FILE))):
        load_script(osp.relpath(path, REPO_ROOT))


def _leaf_dataset(dataset_cfg: dict) -> dict:
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def _set_channels(model: ConfigDict, channels: List[int]) -> None:
    """Channels of the modules fed by the backbone (each toolkit's keys)."""
    neck = model.get('neck')  # mmdet FPN
    if isinstance(neck, dict) and isinstance(neck.get('in_channels'), list):
        neck.in_channels = channels
    for name in ('decode_head', 'auxiliary_head'):  # mmseg
        head = model.get(name)
        for h in head if isinstance(head, list) else [head]:
            if isinstance(h, dict):
                index = h.get('in_index', -1)
                h.in_channels = [channels[i] for i in index] if isinstance(
                    index, (list, tuple)) else channels[index]
    for name in ('head', 'cls_head'):  # mmpretrain, mmaction
        head = model.get(name)
        if isinstance(head, dict) and 'in_channels' in head:
            head.in_channels = channels[-1]


def _fewer_rois(model: ConfigDict) -> None:
    """Two-stage detectors: 64 RoIs, 200 proposals per image (few objects)."""
    train_cfg = model.get('train_cfg') or {}
    if 'rpn_proposal' in train_cfg:
        train_cfg.rpn_proposal.max_per_img = 200
    rcnn = train_cfg.get('rcnn')
    for stage in rcnn if isinstance(rcnn, list) else [rcnn]:
        if isinstance(stage, dict) and 'sampler' in stage:
            stage.sampler.num = 64


#: ``test_cfg.rcnn`` for a detector trained a few iterations: its scores
#: are below the usual 0.05, so every score is kept (the COCO evaluation gets
#: detections to score), but only the 10 best boxes per image: the mask
#: head and the mask encoding run per kept box, and the evaluation of a
#: few-iteration run would otherwise outlast its training
SHORT_RUN_RCNN_TEST = dict(score_thr=0.0, max_per_img=10)


def _keep_low_scores(model: ConfigDict) -> None:
    """Apply :data:`SHORT_RUN_RCNN_TEST` to a two-stage detector's
    ``test_cfg`` (every cascade stage shares ``test_cfg.rcnn``); other
    models are left alone."""
    test_cfg = model.get('test_cfg') or {}
    if isinstance(test_cfg.get('rcnn'), dict):
        test_cfg.rcnn.update(SHORT_RUN_RCNN_TEST)


def short_run_rcnn_options() -> List[str]:
    """:data:`SHORT_RUN_RCNN_TEST` as ``--cfg-options`` items."""
    return [f'model.test_cfg.rcnn.{key}={value}'
            for key, value in SHORT_RUN_RCNN_TEST.items()]


def _fit_schedulers(cfg: Config, epochs: int, iters: int) -> None:
    """Same schedulers, squeezed into the short run (begin 0, end = its length)."""
    schedulers = cfg.get('param_scheduler')
    if schedulers is None:
        return
    for scheduler in schedulers if isinstance(schedulers, list) else [
            schedulers
    ]:
        scheduler.begin = 0
        scheduler.end = epochs if scheduler.get('by_epoch', True) else iters
        if 'T_max' in scheduler:
            scheduler.T_max = scheduler.end
        if 'milestones' in scheduler:
            scheduler.milestones = [scheduler.end]


def _small_evaluator(experiment, smoke):
    """The smoke config's evaluator (the small set's annotation files) with
    the experiment's choice of metrics where both are of one type (a
    Faster R-CNN config scores ``bbox`` only, the smoke Mask R-CNN's
    evaluator ``bbox`` and ``segm``)."""
    small = copy.deepcopy(smoke)
    if (isinstance(experiment, dict) and isinstance(small, dict)
            and experiment.get('type') == small.get('type')
            and 'metric' in experiment):
        small.metric = copy.deepcopy(experiment['metric'])
    return small


def small_data_config(cfg: Config,
                      train_samples: int = 4,
                      val_samples: int = 4,
                      work_dir: Optional[str] = None) -> Config:
    """A copy of ``cfg`` that runs on the small datasets in seconds."""
    cfg = copy.deepcopy(cfg)
    dataset_type = _leaf_dataset(cfg.train_dataloader.dataset)['type']
    dataset_type = dataset_type.split('.')[-1]
    if dataset_type not in SMOKE_CONFIGS:
        raise KeyError(f'no small dataset for {dataset_type}; known: '
                       f'{sorted(SMOKE_CONFIGS)}')
    smoke = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'smoke', SMOKE_CONFIGS[dataset_type]))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[field] = copy.deepcopy(smoke[field])
    for field in ('val_evaluator', 'test_evaluator'):
        cfg[field] = _small_evaluator(cfg.get(field), smoke[field])
    cfg.small_data = True  # reads the small sets (see small_data_guard)
    for field, count in (('train_dataloader', train_samples),
                         ('val_dataloader', val_samples),
                         ('test_dataloader', val_samples)):
        cfg[field].num_workers = 0
        cfg[field].persistent_workers = False
        _leaf_dataset(cfg[field].dataset)['indices'] = count
    size = smoke.model.get('data_preprocessor', {}).get('size')
    if size is not None:
        cfg.model.data_preprocessor.size = size

    backbone = cfg.model.get('backbone')
    load_plugin_shrinkers()
    shrink = BACKBONE_SHRINKERS.get(backbone.get('type')) if backbone else None
    if shrink is not None:
        _set_channels(cfg.model, shrink(backbone))
    if backbone is not None:
        backbone.pop('init_cfg', None)
    cfg.model.pop('pretrained', None)
    _fewer_rois(cfg.model)
    _keep_low_scores(cfg.model)
    cfg.load_from = None
    cfg.resume = False

    iters = 2
    if cfg.train_cfg.get('type', '').endswith('IterBasedTrainLoop') or \
            cfg.train_cfg.get('by_epoch') is False:
        cfg.train_cfg.max_iters = iters
        cfg.train_cfg.val_interval = iters
    else:
        cfg.train_cfg.max_epochs = 1
        cfg.train_cfg.val_interval = 1
        cfg.train_cfg.pop('val_begin', None)
    _fit_schedulers(cfg, epochs=1, iters=iters)
    hooks = cfg.default_hooks
    hooks.logger.interval = 1
    hooks.checkpoint.interval = cfg.train_cfg.get('max_iters', 1)
    if 'visualizer' in cfg and isinstance(cfg.visualizer, dict):
        cfg.visualizer.name = f'visualizer_{id(cfg)}'
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg
