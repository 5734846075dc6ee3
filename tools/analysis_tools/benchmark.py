#!/usr/bin/env python
"""Inference speed (images or clips per second) of a config, as the
toolkits' ``tools/analysis_tools/benchmark.py`` measure it.

The config's test data loader (batch size 1 unless ``--batch-size``) feeds
``model.test_step`` (data preprocessing, forward and post-processing) for
``--num-images`` samples after ``--num-warmup`` warm-up iterations, which are
not timed; on CUDA each step is timed between ``torch.cuda.synchronize``
calls.  Data loading is not timed.  The weights (``--checkpoint``, read
through visrep's compatibility layer) do not change the speed of most
models; detectors post-process fewer boxes once trained.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint CKPT] \\
        [--num-images 200] [--num-warmup 5] [--log-interval 50] \\
        [--fuse-conv-bn] [--device cuda] [--out fps.json]
"""
import argparse
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Iterable, Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log

import visrep  # noqa: F401  (compatibility layer, visrep registries)
from visrep.cli.common import run_cli
from visrep.cli.config_checks import ConfigError
from visrep.cli.toolkit_tools import (build_inference_model,
                                      build_split_loader, enter_toolkit,
                                      load_tool_config)


@dataclass
class Speed:
    """What one benchmark measured."""

    config: str
    device: str
    batch_size: int
    warmup_iters: int
    images: int
    seconds: float
    fps: float


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Inference speed of a config over its test data.')
    parser.add_argument('config',
                        help='config file or visrep::<plugin>/<name>.py')
    parser.add_argument('--checkpoint', help='weights to load (optional)')
    parser.add_argument('--num-images', type=int, default=200,
                        help='samples to time, after the warm-up')
    parser.add_argument('--num-warmup', type=int, default=5,
                        help='untimed iterations first')
    parser.add_argument('--log-interval', type=int, default=50,
                        help='log the running FPS every N timed iterations')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--split', default='test',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help="fold BN into the convs (mmcv's fuse_conv_bn)")
    parser.add_argument('--device', default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--out', help='also write the numbers to this .json')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config fields, key=value pairs')
    return parser.parse_args(argv)


def _synchronize(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_inference(model: torch.nn.Module, batches: Iterable[dict],
                   num_images: int, num_warmup: int, log_interval: int,
                   device: str) -> tuple:
    """``(images, seconds)`` timed over ``model.test_step`` after
    ``num_warmup`` untimed iterations, stopping once ``num_images`` samples
    were timed or the data ran out; logs the running FPS."""
    images, seconds, timed_iters = 0, 0.0, 0
    with torch.no_grad():
        for i, batch in enumerate(batches):
            _synchronize(device)
            start = time.perf_counter()
            model.test_step(batch)
            _synchronize(device)
            elapsed = time.perf_counter() - start
            if i < num_warmup:
                continue
            images += len(batch['inputs'])
            seconds += elapsed
            timed_iters += 1
            if timed_iters % log_interval == 0:
                print_log(f'Done image [{images:<4}/ {num_images}], '
                          f'fps: {images / seconds:.2f} img / s',
                          logger='current', level=logging.INFO)
            if images >= num_images:
                break
    return images, seconds


def _check_has_inference(model: torch.nn.Module, toolkit: str,
                         config: str) -> None:
    """Self-supervised pre-training models (SimMIM, MoBY) have no
    ``predict`` mode to time."""
    if toolkit != 'mmpretrain':
        return
    from mmpretrain.models import BaseSelfSupervisor
    if isinstance(model, BaseSelfSupervisor):
        raise ConfigError(
            f'{config}: a self-supervised pre-training model '
            f'({type(model).__name__}) has no inference to time; benchmark '
            'its fine-tuning or linear-evaluation config.')


def measure(config: str, args: argparse.Namespace) -> Speed:
    """Build the model and loader of ``config`` and time them."""
    for name in ('num_images', 'log_interval', 'batch_size'):
        if getattr(args, name) < 1:
            raise ConfigError(f'--{name.replace("_", "-")} must be >= 1.')
    if args.num_warmup < 0:
        raise ConfigError('--num-warmup must be >= 0.')
    cfg = load_tool_config(config, args.cfg_options)
    toolkit = enter_toolkit(cfg)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_inference_model(cfg, args.checkpoint, device)
    _check_has_inference(model, toolkit, config)
    if args.fuse_conv_bn:
        from mmcv.cnn import fuse_conv_bn
        model = fuse_conv_bn(model)
    loader = build_split_loader(cfg, args.split, args.batch_size)
    print_log(f'benchmark: {args.num_warmup} warm-up iterations, then '
              f'{args.num_images} samples, batch size {args.batch_size}, '
              f'on {device}', logger='current', level=logging.INFO)
    images, seconds = time_inference(model, loader, args.num_images,
                                     args.num_warmup, args.log_interval,
                                     device)
    if images == 0:
        raise ConfigError(
            f'{args.split}_dataloader has {len(loader)} batches, all used '
            f'by the {args.num_warmup} warm-up iterations; lower '
            '--num-warmup.')
    return Speed(config=config, device=device, batch_size=args.batch_size,
                 warmup_iters=args.num_warmup, images=images,
                 seconds=seconds, fps=images / seconds)


def main(argv: Optional[Sequence[str]] = None) -> Speed:
    """Command line entry: log the overall FPS (and write ``--out``)."""
    args = parse_args(argv)
    speed = measure(args.config, args)
    note = '' if speed.images >= args.num_images else \
        f' (the data ran out before {args.num_images})'
    print_log(f'Overall fps: {speed.fps:.2f} img / s over {speed.images} '
              f'samples{note}', logger='current', level=logging.INFO)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(asdict(speed), f, indent=2)
    return speed


if __name__ == '__main__':
    run_cli(main)
