#!/usr/bin/env python
"""Prepare a training checkpoint for release, as the toolkits'
``tools/misc/publish_model.py`` do: keep only the weights (``state_dict``)
and ``meta``, dropping the optimizer, the message hub, the parameter
schedulers, EMA and loss-scaler states, and name the file
``<out stem>-<first 8 hex digits of its sha256>.pth``.

The checkpoint is read with mmengine's loader through visrep's
compatibility layer, so mmengine checkpoints load on torch >= 2.6.

    python tools/misc/publish_model.py work_dirs/x/epoch_6.pth \\
        released/resnet18_small-imagenet.pth
    # -> released/resnet18_small-imagenet-1a2b3c4d.pth
"""
import argparse
import hashlib
import os
import os.path as osp
from typing import Any, Dict, Optional, Sequence

import torch

import visrep  # noqa: F401  (compatibility layer: weights_only loading)
from visrep.cli.common import run_cli
from visrep.cli.config_checks import ConfigError

#: what a published checkpoint keeps
KEPT = ('state_dict', 'meta')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint to its weights and meta, and add '
        'the sha256 suffix to its name.')
    parser.add_argument('in_file', help='the training checkpoint')
    parser.add_argument('out_file', help='output name; the hash is '
                        'inserted before .pth')
    return parser.parse_args(argv)


def sha256sum(path: str, chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def strip_checkpoint(checkpoint: Any, source: str) -> Dict[str, Any]:
    """The checkpoint's ``state_dict`` and ``meta`` only.  A bare state
    dict (tensors only) becomes ``{'state_dict': ...}``.

    Raises:
        ValueError: neither a ``state_dict`` key nor a bare state dict.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{source}: not a checkpoint (a {type(checkpoint)})')
    if 'state_dict' in checkpoint:
        return {k: checkpoint[k] for k in KEPT if k in checkpoint}
    if checkpoint and all(isinstance(v, torch.Tensor)
                          for v in checkpoint.values()):
        return {'state_dict': checkpoint}
    raise ValueError(f'{source}: has no `state_dict` (keys: '
                     f'{sorted(checkpoint)[:10]}); pass a checkpoint '
                     'written by mmengine (work_dirs/<run>/epoch_N.pth).')


def published_name(out_file: str, sha256: str) -> str:
    """``out_file`` with ``-<sha256[:8]>`` before its ``.pth``."""
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha256[:8]}.pth'


def publish(in_file: str, out_file: str) -> str:
    """Write the stripped checkpoint; returns its final path."""
    from mmengine.runner.checkpoint import _load_checkpoint
    if not osp.isfile(in_file):
        raise ConfigError(f'checkpoint {in_file!r} does not exist.')
    try:
        stripped = strip_checkpoint(
            _load_checkpoint(in_file, map_location='cpu'), in_file)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if osp.dirname(out_file):
        os.makedirs(osp.dirname(out_file), exist_ok=True)
    torch.save(stripped, out_file)
    final = published_name(out_file, sha256sum(out_file))
    os.replace(out_file, final)
    return final


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Command line entry; prints and returns the published file."""
    args = parse_args(argv)
    final = publish(args.in_file, args.out_file)
    print(f'published {args.in_file} -> {final}')
    return final


if __name__ == '__main__':
    run_cli(main)
