"""What ``tools/train.py`` and ``tools/test.py`` share, for all four toolkits.

The toolkit is picked from the config's ``default_scope`` (``mmdet``,
``mmseg``, ``mmpretrain``, ``mmaction``); the flags are the ones users know
from the toolkits' own tools.
"""
import argparse
import contextlib
import importlib
import logging
import os
import os.path as osp
import sys
from typing import Callable, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.logging import print_log

import visrep  # noqa: F401  (compatibility layer)
from visrep.compat import mmengine_package_configs as package_configs
from .config_checks import ConfigError, strategy_class

#: default_scope -> (package, pip distribution)
TOOLKITS = {
    'mmdet': ('mmdet', 'mmdet'),
    'mmseg': ('mmseg', 'mmsegmentation'),
    'mmpretrain': ('mmpretrain', 'mmpretrain'),
    'mmaction': ('mmaction', 'mmaction2'),
}


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs, e.g. '
        'train_dataloader.batch_size=4 model.backbone.depth=18; a list is '
        'key="[a,b]"; nested lists/tuples key="[(a,b),(c,d)]" (no spaces)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or
    # --local_rank; torchrun sets LOCAL_RANK in the environment.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def resolve_config_path(path: str) -> str:
    """The config file ``path``, or the shipped config a
    ``visrep::<plugin>/<name>.py`` name stands for (visrep/.mim/configs).

    Raises:
        ConfigError: the file or shipped name does not exist.
    """
    if package_configs.is_package_config(path):
        try:
            path = package_configs.resolve_config(path)
        except FileNotFoundError as error:
            raise ConfigError(str(error)) from None
    if not osp.isfile(path):
        raise ConfigError(f'config file {path!r} does not exist; pass a '
                          'config path or a visrep::<plugin>/<name>.py name.')
    return path


def load_config(args: argparse.Namespace) -> Config:
    """Config file + ``--cfg-options`` + ``--launcher`` + ``--work-dir``."""
    args.config = resolve_config_path(args.config)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def toolkit_of(cfg: Config) -> str:
    """The toolkit a config belongs to, from its ``default_scope``."""
    scope = cfg.get('default_scope')
    if scope not in TOOLKITS:
        raise ConfigError(
            f'default_scope={scope!r}: tools/train.py and tools/test.py run '
            f'configs of the scopes {sorted(TOOLKITS)}. Inherit a toolkit '
            "config through `_base_` (e.g. 'mmdet::_base_/default_runtime.py') "
            "or set default_scope='mmdet' (or mmseg, mmpretrain, mmaction).")
    package, distribution = TOOLKITS[scope]
    try:
        importlib.import_module(package)
    except ImportError as err:
        raise ConfigError(
            f'default_scope={scope!r} needs {distribution}, which does not '
            f'import ({err}); run `bash tools/setup_env.sh`.') from err
    return scope


def setup_dynamo_cache_size() -> None:
    """As mmdet's tools do: bound recompilations when ``compile`` is used."""
    limit = os.environ.get('DYNAMO_CACHE_SIZE_LIMIT', '4')
    try:
        import torch._dynamo
        torch._dynamo.config.cache_size_limit = int(limit)
    except (ImportError, AttributeError, ValueError):
        pass


#: the wrappers mmengine's DDP paths build, which need CUDA devices
_CUDA_DDP_WRAPPERS = ('MMDistributedDataParallel', 'DistributedDataParallel')
_CPU_DDP_WRAPPER = 'visrep.CPUDistributedDataParallel'


def _cpu_ddp_wrapper(wrapper: Optional[dict], **defaults) -> Optional[dict]:
    """``wrapper`` (None: mmengine's default with ``defaults``) as
    :class:`visrep.engine.CPUDistributedDataParallel`; a custom wrapper
    stays (None is returned)."""
    if wrapper is None:
        return ConfigDict(type=_CPU_DDP_WRAPPER, **defaults)
    if wrapper.get('type', _CUDA_DDP_WRAPPERS[0]) in _CUDA_DDP_WRAPPERS:
        wrapper.type = _CPU_DDP_WRAPPER
        return wrapper
    return None


def adapt_to_cpu_distributed(cfg: Config) -> None:
    """Distributed runs without CUDA: data parallelism of CPU modules (gloo).

    The backend switch lives in :mod:`visrep.compat.distributed`; here the
    DDP model wrapper becomes :class:`visrep.engine.CPUDistributedDataParallel`
    (no ``device_ids``, SyncBN reverted), keeping mmengine's defaults
    (``broadcast_buffers=False``, the config's ``find_unused_parameters``):
    ``model_wrapper_cfg`` for the ``Runner``, ``strategy.model_wrapper`` for
    a ``DDPStrategy``.  ``FSDPStrategy`` runs on CPU through
    :mod:`visrep.compat.fsdp_strategy`; other strategies are left as they are.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    from mmengine._strategy import DDPStrategy
    strategy = cfg.get('strategy')
    if strategy is None:
        wrapper = _cpu_ddp_wrapper(
            cfg.get('model_wrapper_cfg'), broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        if wrapper is not None:
            cfg.model_wrapper_cfg = wrapper
        what = 'visrep.CPUDistributedDataParallel'
    elif strategy_class(strategy) is DDPStrategy:
        wrapper = _cpu_ddp_wrapper(strategy.get('model_wrapper'),
                                   broadcast_buffers=False)
        if wrapper is not None:
            strategy.model_wrapper = wrapper
        what = 'DDPStrategy with visrep.CPUDistributedDataParallel'
    else:
        what = strategy_class(strategy).__name__
    print_log(f'CUDA is not available: distributed training runs on CPU '
              f'processes (gloo, {what}).',
              logger='current', level=logging.INFO)


_RNG_STATE_HOOK = 'visrep.RNGStateHook'


def _is_rng_state_hook(hook) -> bool:
    from visrep.engine import RNGStateHook
    kind = hook.get('type') if isinstance(hook, dict) else hook
    return kind in (_RNG_STATE_HOOK, 'RNGStateHook', RNGStateHook) or \
        isinstance(kind, RNGStateHook)


def prepare_exact_resume(cfg: Config) -> None:
    """Make ``--resume`` continue the interrupted run's random streams.

    * every training run gets ``visrep.RNGStateHook`` (unless the config
      has it, or sets ``randomness.diff_rank_seed``): the main process's
      torch / NumPy / Python RNG states go into each checkpoint and come
      back on resume (augmentation and stochastic depth drawn in the main
      process, i.e. ``num_workers=0``);
    * on resume without ``randomness.seed``, the seed the checkpoint
      recorded is set before the runner is built, so the sampler's shuffle
      seed and the dataloader workers' seeds (``seed + worker_id + ...``,
      the same every epoch when workers are not persistent) equal the
      interrupted run's.

    Exact resume then holds on CPU/deterministic kernels at any checkpoint
    of an iteration-based loop and at the epoch ends an epoch-based loop
    saves, except with persistent dataloader workers
    (``num_workers > 0`` and ``persistent_workers=True``, mmpretrain's
    default): their RNG streams run on across epochs and restart from their
    seeds after resume, so the augmentation differs -- a WARNING says so.
    """
    hooks = list(cfg.get('custom_hooks') or [])
    # one state for all ranks: not with per-rank seeds (diff_rank_seed)
    per_rank = (cfg.get('randomness') or {}).get('diff_rank_seed', False)
    if not per_rank and not any(_is_rng_state_hook(h) for h in hooks):
        cfg.custom_hooks = hooks + [ConfigDict(type=_RNG_STATE_HOOK)]
    load_from = cfg.get('load_from')
    if not cfg.get('resume') or not isinstance(load_from, str) or \
            '://' in load_from or not osp.isfile(load_from):
        return
    from visrep.checkpoint.resume_state import checkpoint_seed
    randomness = cfg.get('randomness') or ConfigDict()
    if randomness.get('seed') is None:
        seed = checkpoint_seed(load_from)
        if seed is not None:
            randomness.seed = seed
            cfg.randomness = randomness
    loader = cfg.get('train_dataloader') or {}
    if loader.get('num_workers', 0) and loader.get('persistent_workers'):
        print_log(
            'resume with persistent dataloader workers (train_dataloader.'
            'persistent_workers=True, num_workers>0): the workers\' random '
            'augmentation restarts from their seeds, so it is not bit-exact '
            'with the unbroken run (set persistent_workers=False for that).',
            logger='current', level=logging.WARNING)


def check_loaded_keys(runner, cfg: Config, strict: bool, fix: str) -> None:
    """Check the checkpoint the runner loads (``load_from``, ``--resume``,
    the test checkpoint) against the model before it loads
    (:class:`visrep.checkpoint.load_check.CheckpointKeysHook`): ``strict``
    fails on any missing key, else fewer than half the keys filled fails
    and missing keys are warned about.  Sharded checkpoints (a ``strategy``)
    load through their strategy and are not checked here."""
    from visrep.checkpoint.load_check import MIN_MATCHED, CheckpointKeysHook
    load_from = cfg.get('load_from')
    if not load_from or cfg.get('strategy') is not None:
        return
    runner.register_hook(CheckpointKeysHook(
        load_from, strict=strict, min_matched=MIN_MATCHED, fix=fix))


@contextlib.contextmanager
def releasing_process_group():
    """Destroy the default process group when the run ends (also on error).

    A distributed run that leaves it to the interpreter's exit can abort
    after finishing its work: gloo's threads still alive when the process
    tears down end in ``terminate called without an active exception``
    (SIGABRT, exit 1 from torchrun), as PyTorch's own exit warning says.
    """
    try:
        yield
    finally:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def build_runner(cfg: Config):
    """The config's ``runner_type``; else mmengine's ``FlexibleRunner`` when
    the config has a ``strategy`` (FSDP, DeepSpeed, ...), else ``Runner``."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import FlexibleRunner, Runner
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    if cfg.get('strategy') is not None:
        return FlexibleRunner.from_cfg(cfg)
    return Runner.from_cfg(cfg)


def _checkpoint_errors() -> Tuple[type, ...]:
    """Errors about a checkpoint file the user gave, raised in the runner."""
    from visrep.checkpoint import CheckpointMismatchError
    from visrep.checkpoint.last_checkpoint import ResumeError
    from visrep.compat.weights_only_load import (NotACheckpointError,
                                                 UntrustedCheckpointError)
    return (CheckpointMismatchError, ResumeError, NotACheckpointError,
            UntrustedCheckpointError)


#: how :func:`run_cli` labels each of :func:`_input_errors`
_INPUT_ERROR_KINDS = {
    'ConfigSyntaxError': 'config syntax error',
    'DataFileError': 'data error',
    'ArgumentError': 'argument error',
}


def _input_errors() -> Tuple[type, ...]:
    """Errors about a value the user gave, whose message names it and the
    fix: a config syntax error (its file and line), an unreadable data or
    annotation file, an invalid constructor argument."""
    from visrep.compat.config_errors import ConfigSyntaxError
    from visrep.compat.input_errors import DataFileError
    from visrep.errors import ArgumentError
    return (ConfigSyntaxError, DataFileError, ArgumentError)


def _own_message(err: BaseException) -> str:
    """The error's message; for one re-raised from a DataLoader worker
    (``Caught X in DataLoader worker process N.`` + the worker's
    traceback), the worker error's own last line, without its prefix."""
    text = str(err)
    if not text.startswith('Caught ') or 'Original Traceback' not in text:
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    prefix = f'{type(err).__module__}.{type(err).__name__}: '
    return last[len(prefix):] if last.startswith(prefix) else last


def _kind(err: BaseException) -> str:
    """The :data:`_INPUT_ERROR_KINDS` key of ``err``."""
    for cls in type(err).__mro__:
        if cls.__name__ in _INPUT_ERROR_KINDS:
            return cls.__name__
    raise KeyError(type(err).__name__)


def run_cli(main: Callable[[Optional[Sequence[str]]], None],
            argv: Optional[Sequence[str]] = None) -> None:
    """Run ``main``; a :class:`ConfigError`, an error about a checkpoint
    file (wrong keys, untrusted content, not a checkpoint), or one about a
    value the user gave (:func:`_input_errors`) ends it with its message,
    exit 2; any other exception keeps its traceback."""
    try:
        main(argv)
    except ConfigError as err:
        print(f'config error: {err}', file=sys.stderr)
        sys.exit(2)
    except _checkpoint_errors() as err:
        print(f'checkpoint error: {err}', file=sys.stderr)
        sys.exit(2)
    except _input_errors() as err:
        print(f'{_INPUT_ERROR_KINDS[_kind(err)]}: {_own_message(err)}',
              file=sys.stderr)
        sys.exit(2)
