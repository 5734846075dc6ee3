"""Stop a full-size config that reads a generated small set.

``tools/dataset_converters/make_small_datasets.py`` leaves a
``VISREP_SMALL_DATA`` marker in every set it writes.  A full-size config
pointed at such a set (by a copied ``data/`` or a ``--cfg-options`` override)
would otherwise train "successfully" on a few dozen drawn images.  Configs
meant for the small sets say so with the top-level field ``small_data = True``
(set by ``configs/_base_/datasets/small/*`` and the other small-data bases);
the check looks at that field, never at the file name.
"""
import os.path as osp
from typing import Iterator, Optional, Tuple

from mmengine.config import Config

from visrep.checkpoint.fields import is_remote
from visrep.datasets.synthetic.target import MARKER


def _ancestors(path: str) -> Iterator[str]:
    """``path`` and each directory above it, as written."""
    current = osp.normpath(path)
    while True:
        yield current
        parent = osp.dirname(current)
        if not parent or parent == current:
            return
        current = parent


def marker_above(path: str) -> Optional[str]:
    """The small-set marker in ``path`` or a directory above it, or None."""
    for directory in _ancestors(path):
        candidate = osp.join(directory, MARKER)
        if osp.isfile(candidate):
            return candidate
    return None


def _read_paths(cfg: Config, loaders: Tuple[str, ...]
                ) -> Iterator[Tuple[str, str]]:
    """(field, local path) for every root/annotation/prefix the run reads."""
    from .config_checks import _evaluator_ann_files, _join, loader_datasets
    for loader in loaders:
        for field, dataset in loader_datasets(cfg, loader):
            root = dataset.get('data_root')
            if isinstance(root, str) and root:
                yield f'{field}.data_root', root
            ann_file = dataset.get('ann_file')
            if isinstance(ann_file, str) and ann_file:
                yield f'{field}.ann_file', _join(root, ann_file)
            prefix = dataset.get('data_prefix')
            items = prefix.items() if isinstance(prefix, dict) else (
                [('', prefix)] if isinstance(prefix, str) else [])
            for name, value in items:
                if isinstance(value, str) and value:
                    sub = f'.{name}' if name else ''
                    yield f'{field}.data_prefix{sub}', _join(root, value)
        evaluator = loader.replace('dataloader', 'evaluator')
        yield from _evaluator_ann_files(cfg.get(evaluator), evaluator)


def check_not_small_data(cfg: Config, loaders: Tuple[str, ...]) -> None:
    """Raise ConfigError if a config without ``small_data = True`` reads a
    directory marked as a generated small set."""
    from .config_checks import ConfigError
    if cfg.get('small_data') is True:
        return
    for field, path in _read_paths(cfg, loaders):
        if is_remote(path):
            continue
        marker = marker_above(path)
        if marker is not None:
            raise ConfigError(
                f'{field}: {path!r} is the generated small set (marker '
                f'{marker!r}, written by tools/dataset_converters/'
                'make_small_datasets.py), not the real dataset, and this is a '
                'full-size config: it would train on a few dozen drawn '
                f'images. Fix: point it at the real data (e.g. --cfg-options '
                f'{field}=/path/to/real/data), or run a small-data config '
                '(configs/**/small/, *_small-*.py, configs/smoke/; they set '
                '`small_data = True`).')
