"""Shrink SimMIM / MoBY configs to a few CPU iterations on the small ImageNet set.

:func:`small_ssl_config` is :func:`.small_data.small_data_config` for
self-supervised pre-training configs, whose pipelines (masks, two views)
must be kept: it keeps the data pipeline and image size, makes the backbone
tiny (and the decoder, projector, predictor and queues with it), takes a
few images, drops AMP and pretrained files, and stops after one short
epoch.  Importing this module also teaches ``small_data_config`` the
SimMIM / MoBY backbones (``visrep.SwinTransformerV1``, ``visrep.SimMIMViT``)
so that their fine-tuning, linear and transfer configs shrink too.
"""
import copy
from typing import List, Optional

from mmengine.config import Config, ConfigDict

from .small_data import _fit_schedulers, register_shrinker

TINY_SWIN = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2])
TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)
#: crop of the smoke configs the fine-tuning configs are shrunk onto
SMOKE_CROP = 64


@register_shrinker('visrep.SwinTransformerV1')
def _tiny_swin_v1(backbone: ConfigDict) -> List[int]:
    backbone.arch = dict(TINY_SWIN)
    if not backbone.get('pad_small_map', False):
        # classification: the official window clip follows img_size
        backbone.img_size = SMOKE_CROP
    return [16, 32, 64, 128]


@register_shrinker('visrep.SimMIMViT')
def _tiny_vit(backbone: ConfigDict) -> List[int]:
    backbone.arch = dict(TINY_VIT)
    backbone.img_size = SMOKE_CROP  # the relative position tables follow it
    return [TINY_VIT['embed_dims']]


def _tiny_ssl_backbone(backbone: ConfigDict) -> int:
    """Make a pre-training encoder tiny in place; return its channels."""
    kind = backbone.type
    if kind in ('visrep.SwinTransformerV1', 'visrep.MaskedSwinTransformerV1'):
        backbone.arch = dict(TINY_SWIN)
        return 128
    if kind in ('visrep.SwinTransformerV2', 'visrep.MaskedSwinTransformerV2'):
        backbone.arch = dict(embed_dims=16, depths=(2, 2, 2, 2),
                             num_heads=(1, 1, 2, 2))
        return 128
    if kind in ('visrep.SimMIMViT', 'visrep.MaskedSimMIMViT'):
        backbone.arch = dict(TINY_VIT)
        return TINY_VIT['embed_dims']
    raise KeyError(f'no tiny version of {kind}')


def small_ssl_config(cfg: Config, batch_size: int = 4, iters: int = 2,
                     work_dir: Optional[str] = None) -> Config:
    """A copy of a SimMIM / MoBY pre-training config that runs in seconds."""
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    channels = _tiny_ssl_backbone(model.backbone)
    model.backbone.pop('init_cfg', None)
    model.neck.in_channels = channels
    if 'hid_channels' in model.neck:  # MoBY projector / predictor / queues
        model.neck.hid_channels = 64
        model.head.predictor.hid_channels = 64
        model.queue_len = 4 * batch_size
    loader = cfg.train_dataloader
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
