"""``tools/test.py``: evaluate a checkpoint of any of the four toolkits."""
import argparse
import os.path as osp
import tempfile
from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict

from .common import (add_common_args, adapt_to_cpu_distributed, build_runner,
                     check_loaded_keys, finish_args, load_config, run_cli,
                     releasing_process_group, setup_dynamo_cache_size,
                     toolkit_of)
from .config_checks import ConfigError, check_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a checkpoint; the toolkit is picked from '
        "the config's default_scope.")
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump the predictions: a .pkl file (mmdet, mmpretrain, '
        'mmaction) or a directory of label maps (mmseg)')
    parser.add_argument(
        '--show-dir', help='save visualised predictions in this directory')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions in a window')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds between shown images')
    parser.add_argument(
        '--non-strict',
        action='store_true',
        help='evaluate even if the checkpoint lacks some of the model\'s '
        'keys (they keep their initial values; a warning lists them). By '
        'default a missing key is an error, exit 2')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation with the config\'s tta_model and '
        'tta_pipeline')
    add_common_args(parser)
    return finish_args(parser.parse_args(argv))


def enable_visualization(cfg: Config, toolkit: str,
                         args: argparse.Namespace) -> None:
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks:
        raise ConfigError(
            '--show/--show-dir need a visualization hook in '
            '`default_hooks.visualization` (the toolkits\' default_runtime '
            'defines one).')
    hook = hooks['visualization']
    if toolkit in ('mmdet', 'mmseg'):
        hook.draw = True
        if args.show:
            hook.show = True
            hook.wait_time = args.wait_time
        if args.show_dir:
            if toolkit == 'mmdet':
                hook.test_out_dir = args.show_dir
            else:
                cfg.visualizer.save_dir = args.show_dir
    else:  # mmpretrain, mmaction
        hook.enable = True
        hook.show = args.show
        hook.wait_time = args.wait_time
        hook.out_dir = args.show_dir


def enable_tta(cfg: Config) -> None:
    missing = [k for k in ('tta_model', 'tta_pipeline') if k not in cfg]
    if missing:
        raise ConfigError(
            f'--tta needs {" and ".join(missing)} in the config (see the '
            "toolkit's configs, e.g. mmdet's `tta_model = dict(type="
            "'DetTTAModel', ...)`).")
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def add_dump(cfg: Config, toolkit: str, out: str) -> None:
    if toolkit == 'mmseg':
        cfg.test_evaluator['output_dir'] = out
        cfg.test_evaluator['keep_results'] = True
        return
    if not out.endswith(('.pkl', '.pickle')):
        raise ConfigError(f'--out {out!r}: the dump file must be a .pkl file.')
    dump = dict(type='DumpDetResults' if toolkit == 'mmdet' else 'DumpResults',
                out_file_path=out)
    evaluator = cfg.test_evaluator
    metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    cfg.test_evaluator = metrics + [dump]


def check_out_writable(out: str, toolkit: str) -> None:
    """``--out`` can be written: its directory (mmseg: the directory itself)
    exists or can be created, and a file can be created there -- checked
    before the evaluation, which would otherwise run to the end first."""
    target = osp.abspath(out if toolkit == 'mmseg' else osp.dirname(
        osp.abspath(out)))
    if osp.exists(target) and not osp.isdir(target):
        raise ConfigError(f'--out {out!r}: {target!r} is a file, not a '
                          'directory; pick another --out path.')
    existing = target
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    try:
        if not osp.isdir(existing):
            raise NotADirectoryError(f'{existing!r} is not a directory')
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(
            f'--out {out!r}: cannot write in {existing!r} ({err}); pick a '
            'writable --out path.') from None


def check_checkpoint(checkpoint: str, cfg: Config) -> None:
    """A local checkpoint exists: a file, or with a ``strategy`` also a
    directory (FSDP's sharded checkpoints hold one file per rank)."""
    if '://' in checkpoint or osp.isfile(checkpoint):
        return
    if osp.isdir(checkpoint) and cfg.get('strategy') is not None:
        return
    raise ConfigError(f'checkpoint {checkpoint!r} does not exist.')


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    setup_dynamo_cache_size()
    cfg = load_config(args)
    toolkit = toolkit_of(cfg)
    check_checkpoint(args.checkpoint, cfg)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, toolkit, args)
    if args.tta:
        enable_tta(cfg)
    if args.out:
        check_out_writable(args.out, toolkit)
        add_dump(cfg, toolkit, args.out)
    check_config(cfg, 'test')
    adapt_to_cpu_distributed(cfg)
    with releasing_process_group():
        runner = build_runner(cfg)
        check_loaded_keys(
            runner, cfg, strict=not args.non_strict,
            fix='Pass the checkpoint trained with this config, or '
            '--non-strict to evaluate anyway.')
        runner.test()


def cli(argv: Optional[Sequence[str]] = None) -> None:
    run_cli(main, argv)
