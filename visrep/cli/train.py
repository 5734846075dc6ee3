"""``tools/train.py``: train any mmdet / mmseg / mmpretrain / mmaction2 config."""
import argparse
import copy
import logging
from typing import Optional, Sequence

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from .common import (add_common_args, adapt_to_cpu_distributed, build_runner,
                     check_loaded_keys, finish_args, load_config,
                     prepare_exact_resume, run_cli, setup_dynamo_cache_size,
                     releasing_process_group, toolkit_of)
from .config_checks import ConfigError, check_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a model of any of the four toolkits; the toolkit '
        "is picked from the config's default_scope.")
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision: fp16 with dynamic loss scaling on '
        'GPU (AmpOptimWrapper), bfloat16 autocast on CPU '
        '(visrep.CPUAmpOptimWrapper)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by actual/base batch size '
        '(needs auto_scale_lr.base_batch_size in the config)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--compile',
        action='store_true',
        help="torch.compile the model (sets the config's compile=True, read "
        "by mmengine's Runner)")
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic algorithms (cudnn) for reproducible runs')
    add_common_args(parser)
    return finish_args(parser.parse_args(argv))


def enable_amp(cfg: Config) -> None:
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper',
                             'visrep.CPUAmpOptimWrapper'):
        raise ConfigError(
            f'--amp: optim_wrapper.type={optim_wrapper!r} is a custom wrapper; '
            "--amp only switches 'OptimWrapper' to mixed precision. Enable "
            'mixed precision in that wrapper instead.')
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    else:
        cfg.optim_wrapper.type = 'visrep.CPUAmpOptimWrapper'
        cfg.optim_wrapper.pop('loss_scale', None)
        print_log('--amp without CUDA: bfloat16 autocast on CPU.',
                  logger='current', level=logging.INFO)


def enable_auto_scale_lr(cfg: Config) -> None:
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not isinstance(auto_scale_lr, dict) or \
            'base_batch_size' not in auto_scale_lr:
        raise ConfigError(
            '--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=N)` '
            'in the config (N: the total batch size the lr was tuned for).')
    auto_scale_lr.enable = True


#: mmpretrain's tools/train.py fills these dataloader defaults.
MMPRETRAIN_DATALOADER_DEFAULTS = dict(
    pin_memory=True,
    persistent_workers=True,
    collate_fn=dict(type='default_collate'))


def set_toolkit_defaults(cfg: Config, toolkit: str) -> None:
    if toolkit != 'mmpretrain':
        return
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(field) is None:
            continue
        loader = ConfigDict(copy.deepcopy(MMPRETRAIN_DATALOADER_DEFAULTS))
        loader.update(cfg[field])
        if not loader.get('num_workers', 0):
            loader.persistent_workers = False
        cfg[field] = loader


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    if args.compile:
        cfg.compile = True
    # resume from a path > auto-resume from the work dir
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.seed is not None or args.diff_rank_seed or args.deterministic:
        randomness = cfg.get('randomness') or ConfigDict()
        if args.seed is not None:
            randomness.seed = args.seed
        if args.diff_rank_seed:
            randomness.diff_rank_seed = True
        if args.deterministic:
            randomness.deterministic = True
        cfg.randomness = randomness
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    setup_dynamo_cache_size()
    cfg = load_config(args)
    toolkit = toolkit_of(cfg)
    cfg = merge_args(cfg, args)
    set_toolkit_defaults(cfg, toolkit)
    check_config(cfg, 'train')
    prepare_exact_resume(cfg)
    adapt_to_cpu_distributed(cfg)
    with releasing_process_group():
        runner = build_runner(cfg)
        check_loaded_keys(
            runner, cfg, strict=False,
            fix='To load only a backbone, use model.backbone.init_cfg=dict('
            "type='Pretrained', checkpoint=..., prefix='backbone.') instead "
            'of load_from; to resume, use the config that wrote the '
            'checkpoint.')
        runner.train()


def cli(argv: Optional[Sequence[str]] = None) -> None:
    run_cli(main, argv)
