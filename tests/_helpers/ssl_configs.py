"""Shrink self-supervised pre-training configs to a few CPU iterations on
the small ImageNet set.

:func:`small_ssl_config` is :func:`.small_data.small_data_config` for
self-supervised pre-training configs, whose pipelines (masks, two views)
must be kept: it keeps the data pipeline and image size, makes the backbone
tiny (and the decoder, projector, predictor and queues with it), takes a
few images, drops AMP and pretrained files, and stops after one short
epoch.  The encoders become tiny through :func:`register_ssl_shrinker`,
called by the ``shrinkers.py`` of the plugins' test folders.
"""
import copy
import os.path as osp
from typing import Callable, Dict, Optional

from mmengine.config import Config, ConfigDict

from .runs import REPO_ROOT
from .small_data import SMOKE_CONFIGS, _fit_schedulers, load_plugin_shrinkers

#: pre-training backbone type -> function(backbone cfg) -> its out channels
SSLBackboneShrinker = Callable[[ConfigDict], int]
SSL_BACKBONE_SHRINKERS: Dict[str, SSLBackboneShrinker] = {}


def register_ssl_shrinker(*backbone_types: str):
    """Teach :func:`small_ssl_config` how to make pre-training encoders of
    these types tiny (in place; the function returns their channels)."""

    def wrap(fn: SSLBackboneShrinker) -> SSLBackboneShrinker:
        for backbone_type in backbone_types:
            SSL_BACKBONE_SHRINKERS[backbone_type] = fn
        return fn

    return wrap


def _tiny_ssl_backbone(backbone: ConfigDict) -> int:
    """Make a pre-training encoder tiny in place; return its channels."""
    load_plugin_shrinkers()
    shrink = SSL_BACKBONE_SHRINKERS.get(backbone.type)
    if shrink is None:
        raise KeyError(f'no tiny version of {backbone.type}')
    return shrink(backbone)


def small_ssl_config(cfg: Config, batch_size: int = 4, iters: int = 2,
                     work_dir: Optional[str] = None) -> Config:
    """A copy of a pre-training config that runs in seconds (masked image
    modeling, or two-view contrastive learning with a queue)."""
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    channels = _tiny_ssl_backbone(model.backbone)
    model.backbone.pop('init_cfg', None)
    model.neck.in_channels = channels
    if 'hid_channels' in model.neck:  # projector, predictor and queues
        model.neck.hid_channels = 64
        model.head.predictor.hid_channels = 64
        model.queue_len = 4 * batch_size
    loader = cfg.train_dataloader
    # the small ImageNet set, where the smoke config reads it
    smoke = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'smoke',
                                     SMOKE_CONFIGS['ImageNet']))
    loader.dataset.data_root = smoke.train_dataloader.dataset.data_root
    cfg.small_data = True  # reads the small sets (see small_data_guard)
    loader.batch_size = batch_size
    loader.num_workers = 0
    loader.persistent_workers = False
    loader.dataset.indices = batch_size * iters
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    cfg.train_cfg.max_epochs = 1
    _fit_schedulers(cfg, epochs=1, iters=iters)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.load_from = None
    cfg.resume = False
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg
