"""What the analysis tools (print_config, browse_dataset, benchmark,
confusion_matrix) share: a config by path or ``visrep::`` name, its toolkit,
its datasets, its test data loader and its model with a checkpoint.

Every piece is the toolkits' / mmengine's own: the registries of the
config's ``default_scope``, ``Runner.build_dataloader`` and
``load_checkpoint`` (through visrep's compatibility layer, so mmengine
checkpoints load on torch >= 2.6).
"""
import copy
import importlib
import os.path as osp
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.config import Config

import visrep  # noqa: F401  (compatibility layer)
from .common import TOOLKITS, resolve_config_path, toolkit_of
from .config_checks import ConfigError

SPLITS = ('train', 'val', 'test')


def load_tool_config(path: str,
                     cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """The config at ``path`` (a file or a ``visrep::<plugin>/<name>.py``
    name) with ``--cfg-options`` merged in, as ``tools/train.py`` reads it.

    Raises:
        ConfigError: the file or shipped name does not exist.
    """
    cfg = Config.fromfile(resolve_config_path(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def enter_toolkit(cfg: Config) -> str:
    """The config's toolkit (its ``default_scope``), made the current
    registry scope."""
    from mmengine.registry import init_default_scope
    toolkit = toolkit_of(cfg)
    init_default_scope(toolkit)
    return toolkit


def toolkit_registry(toolkit: str, name: str):
    """The toolkit's registry ``name`` (``DATASETS``, ``VISUALIZERS``,
    ``MODELS``)."""
    package = TOOLKITS[toolkit][0]
    return getattr(importlib.import_module(f'{package}.registry'), name)


def loader_cfg(cfg: Config, split: str) -> Dict[str, Any]:
    """``cfg.<split>_dataloader``, a copy.

    Raises:
        ConfigError: the config has no such loader.
    """
    if split not in SPLITS:
        raise ConfigError(f'split {split!r}: choose one of {SPLITS}.')
    loader = cfg.get(f'{split}_dataloader')
    if not loader or 'dataset' not in loader:
        have = [s for s in SPLITS
                if 'dataset' in (cfg.get(f'{s}_dataloader') or {})]
        raise ConfigError(f'{split}_dataloader: the config has no such data '
                          f'loader (it has {have}); pick another split.')
    return copy.deepcopy(loader)


def build_split_dataset(cfg: Config, toolkit: str, split: str):
    """The dataset of ``cfg.<split>_dataloader``, with its pipeline, built
    in the toolkit's scope."""
    dataset = loader_cfg(cfg, split)['dataset']
    return toolkit_registry(toolkit, 'DATASETS').build(dataset)


def build_split_loader(cfg: Config, split: str = 'test',
                       batch_size: Optional[int] = None):
    """mmengine's ``Runner.build_dataloader`` of ``cfg.<split>_dataloader``
    (``batch_size`` overriding the config's)."""
    from mmengine.runner import Runner
    loader = loader_cfg(cfg, split)
    if batch_size is not None:
        loader['batch_size'] = batch_size
    if not loader.get('num_workers'):
        loader['persistent_workers'] = False
    return Runner.build_dataloader(loader)


def build_inference_model(cfg: Config, checkpoint: Optional[str],
                          device: str) -> torch.nn.Module:
    """``cfg.model`` as the Runner builds it (top-level
    ``data_preprocessor`` included), SyncBN reverted, the checkpoint's
    weights loaded when given, in eval mode on ``device``.

    Raises:
        ConfigError: the checkpoint file does not exist.
    """
    from mmengine.model import revert_sync_batchnorm
    from .model_builder import build_config_model, load_for_inference
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise ConfigError(f'checkpoint {checkpoint!r} does not exist.')
    model = revert_sync_batchnorm(build_config_model(cfg, toolkit_of(cfg)))
    if checkpoint is None:
        return model.to(device).eval()
    return load_for_inference(model, checkpoint, device)


def tensor_image(inputs: torch.Tensor) -> np.ndarray:
    """An image tensor of a packed sample (C, H, W, BGR as mmcv loads it)
    as the (H, W, 3) RGB uint8 array the visualizers draw on."""
    image = inputs.detach().cpu()
    if image.dim() != 3:
        raise ValueError(f'expected a (C, H, W) image, got shape '
                         f'{tuple(image.shape)}')
    image = image.permute(1, 2, 0).numpy()
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., ::-1])
