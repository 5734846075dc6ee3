"""Checks that turn silent config mistakes into errors naming the field and the fix.

mmengine already names a bad ``type`` (``'Foo is not in the mmdet::model
registry'``) and a misspelled constructor argument (``TypeError: class
`ResNet` ...: unexpected keyword argument 'dpeth'``).  Two mistakes it lets
through, or reports far from their cause, are checked here before the runner
is built:

* a misspelled top-level field (``trian_dataloader``) is ignored by
  ``Runner.from_cfg``, so the run fails later for an unrelated-looking reason
  or, worse, runs without the intended setting;
* a missing dataset directory or annotation file surfaces as a bare
  ``FileNotFoundError`` deep inside dataset construction (or inside a
  dataloader worker);
* a config with ``strategy`` (run by mmengine's ``FlexibleRunner``) whose
  ``strategy.type`` is unknown fails deep in the runner, and the
  ``Runner``-only fields it still sets (``model_wrapper_cfg``,
  ``find_unused_parameters``, ...) are silently dropped.
"""
import importlib
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

from visrep.checkpoint.fields import is_remote
from .small_data_guard import check_not_small_data

#: Top-level fields ``Runner.from_cfg`` (mmengine 0.10.7) and the toolkits'
#: tools read, with the types of value they take.
RUNNER_FIELDS = {
    'model': dict, 'work_dir': str, 'train_dataloader': dict,
    'val_dataloader': dict, 'test_dataloader': dict, 'train_cfg': dict,
    'val_cfg': dict, 'test_cfg': dict, 'auto_scale_lr': dict,
    'optim_wrapper': dict, 'param_scheduler': (dict, list),
    'val_evaluator': (dict, list), 'test_evaluator': (dict, list),
    'default_hooks': dict, 'custom_hooks': list, 'data_preprocessor': dict,
    'load_from': str, 'resume': bool, 'launcher': str, 'env_cfg': dict,
    'log_processor': dict, 'log_level': str, 'visualizer': dict,
    'default_scope': str, 'randomness': dict, 'experiment_name': str,
    'model_wrapper_cfg': dict, 'find_unused_parameters': bool,
    'sync_bn': str, 'compile': (bool, dict), 'runner_type': str,
    'tta_model': dict, 'tta_pipeline': list, 'custom_imports': dict,
    'strategy': dict,
    'small_data': bool,  # visrep: marks small-data configs (small_data_guard)
}

#: Fields ``Runner.from_cfg`` reads that ``FlexibleRunner.from_cfg`` (which
#: a config with ``strategy`` gets) ignores, and the fix for each.
RUNNER_ONLY_FIELDS = {
    'model_wrapper_cfg': 'move it to strategy.model_wrapper',
    'find_unused_parameters':
    'set strategy.model_wrapper=dict(find_unused_parameters=True) '
    '(DDPStrategy) instead',
    'sync_bn': 'move it to strategy.sync_bn (DDPStrategy)',
}

#: strategies that need a package the pinned stack does not install
STRATEGY_PACKAGES = {
    'DeepSpeedStrategy': 'deepspeed',
    'ColossalAIStrategy': 'colossalai',
}

MAKE_SMALL_DATA_HINT = ('create the small datasets with `python '
                        'tools/dataset_converters/make_small_datasets.py` '
                        '(run from the repo root)')


class ConfigError(ValueError):
    """A config field is wrong; the message names the field and the fix."""


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours counts as one edit)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1,
                         rows[-1][j - 1] + (ca != cb))
            if (i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb):
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def misspelled_field(key: str, value) -> Optional[str]:
    """The runner field a top-level ``key`` is a typo of, or None.

    Configs hold other top-level variables (``train_pipeline``,
    ``conv_cfg``, ``models`` ...), so a name counts as a typo only if it is
    within one edit (two for field names longer than eight letters) of a
    runner field, is not just its plural, and its value has that field's
    type.  ``value=None`` means "type unknown".  Every top-level name of
    every config the four toolkits ship passes (tested).
    """
    if key in RUNNER_FIELDS or key.startswith('_'):
        return None
    for field, kinds in RUNNER_FIELDS.items():
        allowed = 1 if len(field) <= 8 else 2
        if key != field + 's' and _edit_distance(key, field) <= allowed and (
                value is None or isinstance(value, kinds)):
            return field
    return None


def check_top_level_fields(cfg: Config) -> None:
    """Reject a top-level name that is a typo of a runner field.

    ``Runner.from_cfg`` ignores unknown top-level names: a misspelled
    override of an inherited field would silently leave the inherited value.
    """
    for key in sorted(cfg.keys()):
        field = misspelled_field(key, cfg[key])
        if field is not None:
            raise ConfigError(
                f'top-level config field {key!r} is not read by the runner; '
                f'did you mean {field!r}? Rename it (the runner ignores '
                'unknown top-level fields, so the setting would be lost).')


def _dataset_leaves(dataset_cfg, path: str) -> Iterator[Tuple[str, dict]]:
    """Yield (field path, dataset cfg) for datasets that read files."""
    if not isinstance(dataset_cfg, dict):
        return
    if 'dataset' in dataset_cfg:  # RepeatDataset, ClassBalancedDataset, ...
        yield from _dataset_leaves(dataset_cfg['dataset'], f'{path}.dataset')
    if 'datasets' in dataset_cfg:  # ConcatDataset
        for i, sub in enumerate(dataset_cfg['datasets']):
            yield from _dataset_leaves(sub, f'{path}.datasets[{i}]')
    if 'dataset' not in dataset_cfg and 'datasets' not in dataset_cfg:
        yield path, dataset_cfg


def _join(root: Optional[str], path: str) -> str:
    if root and not osp.isabs(path) and not is_remote(path):
        return osp.join(root, path)
    return path


def _missing_paths(field: str, dataset: dict) -> List[Tuple[str, str, str]]:
    """(field, path, 'directory'|'file') for each local path that does not exist."""
    missing = []
    root = dataset.get('data_root')
    if isinstance(root, str) and root and not is_remote(root):
        if not osp.isdir(root):
            return [(f'{field}.data_root', root, 'directory')]
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file:
        path = _join(root, ann_file)
        if not is_remote(path) and not osp.isfile(path):
            missing.append((f'{field}.ann_file', path, 'file'))
    prefix = dataset.get('data_prefix')
    prefixes = prefix.items() if isinstance(prefix, dict) else (
        [('', prefix)] if isinstance(prefix, str) else [])
    for name, value in prefixes:
        if not isinstance(value, str) or not value:
            continue
        path = _join(root, value)
        if not is_remote(path) and not osp.isdir(path):
            sub = f'.{name}' if name else ''
            missing.append((f'{field}.data_prefix{sub}', path, 'directory'))
    return missing


def _evaluator_ann_files(evaluator, field: str) -> Iterator[Tuple[str, str]]:
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for i, metric in enumerate(metrics):
        if isinstance(metric, dict) and isinstance(metric.get('ann_file'), str):
            sub = f'[{i}]' if isinstance(evaluator, (list, tuple)) else ''
            yield f'{field}{sub}.ann_file', metric['ann_file']


def loader_datasets(cfg: Config,
                    loader: str) -> Iterator[Tuple[str, dict]]:
    """(field path, dataset cfg) of each dataset that ``cfg.<loader>`` (e.g.
    ``train_dataloader``) reads files through; none without a loader."""
    loader_cfg = cfg.get(loader)
    if not isinstance(loader_cfg, dict) or 'dataset' not in loader_cfg:
        return
    yield from _dataset_leaves(loader_cfg['dataset'], f'{loader}.dataset')


def check_data_paths(cfg: Config, loaders: Tuple[str, ...]) -> None:
    """Every dataset directory and annotation file the run will read exists."""
    problems = []
    for loader in loaders:
        for field, dataset in loader_datasets(cfg, loader):
            problems += _missing_paths(field, dataset)
        evaluator = loader.replace('dataloader', 'evaluator')
        for field, path in _evaluator_ann_files(cfg.get(evaluator), evaluator):
            if not is_remote(path) and not osp.isfile(path):
                problems.append((field, path, 'file'))
    if problems:
        lines = [f'  {field}: {kind} {path!r} does not exist'
                 for field, path, kind in problems]
        fields = ', '.join(sorted({p[0] for p in problems}))
        raise ConfigError(
            'dataset paths are missing (relative paths are read from the '
            f'current directory {osp.abspath(".")!r}):\n' + '\n'.join(lines) +
            f'\nFix: {MAKE_SMALL_DATA_HINT}, or point the config at your data, '
            f'e.g. --cfg-options {problems[0][0]}=/path/to/... '
            f'(fields: {fields}).')


def loaders_used(cfg: Config, mode: str) -> Tuple[str, ...]:
    """The dataloaders a ``train`` or ``test`` run reads."""
    if mode == 'test':
        return ('test_dataloader', )
    loaders = ('train_dataloader', )
    if cfg.get('val_cfg') is not None and cfg.get('val_dataloader') is not None:
        loaders += ('val_dataloader', )
    return loaders


def strategy_class(strategy) -> type:
    """The class ``strategy.type`` names, or a :class:`ConfigError`."""
    from mmengine._strategy import BaseStrategy
    from mmengine.registry import STRATEGIES
    if not isinstance(strategy, dict) or 'type' not in strategy:
        raise ConfigError(
            f'strategy={strategy!r}: a strategy is a dict with a `type`, '
            "e.g. strategy = dict(type='FSDPStrategy') (or 'DDPStrategy', "
            "'DeepSpeedStrategy'); remove the field for the default Runner.")
    kind = strategy['type']
    cls = kind if isinstance(kind, type) else (
        STRATEGIES.get(kind) if isinstance(kind, str) else None)
    if cls is None or not issubclass(cls, BaseStrategy):
        known = sorted(STRATEGIES.module_dict)
        raise ConfigError(
            f'strategy.type={kind!r} is not a strategy mmengine knows; use '
            f'one of {known}, or register yours in mmengine\'s STRATEGIES.')
    return cls


def _check_strategy_package(name: str) -> None:
    package = STRATEGY_PACKAGES.get(name)
    if package is None:
        return
    try:
        importlib.import_module(package)
    except ImportError as err:
        raise ConfigError(
            f'strategy.type={name!r} needs the {package} package, which does '
            f'not import ({err}); `pip install {package}` or pick another '
            "strategy.type (e.g. 'FSDPStrategy').") from err


def _check_launcher(cfg: Config, cls: type) -> None:
    """DDP and FSDP strategies need a process group, i.e. a launcher."""
    from mmengine._strategy import DDPStrategy
    if issubclass(cls, DDPStrategy) and cfg.get('launcher', 'none') == 'none':
        raise ConfigError(
            f'strategy.type={cls.__name__!r} runs in a process group: launch '
            'with `bash tools/dist_train.sh CONFIG N` (or --launcher pytorch '
            'under torchrun, --launcher slurm under srun); one process '
            'without a launcher needs no strategy field.')


def _check_runner_reads_strategy(cfg: Config) -> None:
    """A ``runner_type`` set next to ``strategy`` is a FlexibleRunner."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import FlexibleRunner
    runner_type = cfg.get('runner_type')
    runner = RUNNERS.get(runner_type) if isinstance(runner_type,
                                                    str) else runner_type
    if isinstance(runner, type) and not issubclass(runner, FlexibleRunner):
        raise ConfigError(
            f'strategy is set but runner_type={runner_type!r} ignores it '
            '(only FlexibleRunner reads `strategy`); remove runner_type or '
            "set runner_type='FlexibleRunner'.")


def _check_no_runner_only_fields(cfg: Config) -> None:
    for field, fix in RUNNER_ONLY_FIELDS.items():
        if cfg.get(field):
            raise ConfigError(
                f'{field}={cfg[field]!r} is not read when the config has a '
                f'strategy (the FlexibleRunner ignores it): {fix}.')


def check_strategy(cfg: Config) -> None:
    """A ``strategy`` names a known strategy whose package imports, it has
    a launcher where it needs one, its runner reads it, and no field that
    runner ignores is set."""
    strategy = cfg.get('strategy')
    if strategy is None:
        return
    cls = strategy_class(strategy)
    _check_strategy_package(cls.__name__)
    _check_launcher(cfg, cls)
    _check_runner_reads_strategy(cfg)
    _check_no_runner_only_fields(cfg)


def resolve_auto_resume(cfg: Config) -> None:
    """Auto-resume (``resume=True`` without ``load_from``): set ``load_from``
    to the work dir's last checkpoint, or stop when the work dir holds
    checkpoints but no ``last_checkpoint`` (it would train from scratch and
    overwrite them) -- :mod:`visrep.checkpoint.last_checkpoint`."""
    from visrep.checkpoint.last_checkpoint import (ResumeError,
                                                   resolve_last_checkpoint)
    if not cfg.get('resume') or cfg.get('load_from'):
        return
    work_dir = osp.abspath(cfg.get('work_dir') or '.')
    try:
        cfg.load_from = resolve_last_checkpoint(work_dir)
    except ResumeError as err:
        raise ConfigError(str(err)) from None


def check_checkpoint_fields(cfg: Config, mode: str) -> None:
    """Every local checkpoint the run reads (``load_from`` / ``--resume
    PATH`` / the test checkpoint, ``init_cfg.checkpoint`` in ``model``)
    exists and loads weights-only -- :mod:`visrep.checkpoint.fields`."""
    from visrep.checkpoint.fields import checkpoint_fields, checkpoint_problem
    for field, path in checkpoint_fields(cfg, mode):
        problem = checkpoint_problem(path)
        if problem is not None:
            option = '' if field in ('checkpoint', '--resume') else (
                f' Or point the field at your checkpoint: --cfg-options '
                f'{field}=/path/to/checkpoint.pth')
            raise ConfigError(f'{field}: {problem.rstrip(".")}.{option}')


def check_config(cfg: Config, mode: str) -> None:
    """All checks of this module for a ``train`` or ``test`` run."""
    check_top_level_fields(cfg)
    check_strategy(cfg)
    if not isinstance(cfg.get('model'), (dict, ConfigDict)):
        raise ConfigError('the config has no `model` field; a runnable config '
                          'defines `model = dict(type=...)` or inherits one '
                          'through `_base_`.')
    check_data_paths(cfg, loaders_used(cfg, mode))
    check_not_small_data(cfg, loaders_used(cfg, mode))
    if mode == 'train':
        resolve_auto_resume(cfg)
    check_checkpoint_fields(cfg, mode)
