"""tools/train.py and tools/test.py with a config ``strategy``: mmengine's
FlexibleRunner, CPU adaptation, and errors naming the field and the fix.

The FSDP strategy itself is tested on 2 CPU processes in
tests/engine/test_fsdp_strategy.py; a 2-process FSDP run through
tools/dist_train.sh is in tests/e2e/test_strategy_tools.py.
"""
import contextlib
import copy
import functools
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import FlexibleRunner, Runner

from visrep.cli import train as train_cli
from visrep.cli.common import adapt_to_cpu_distributed, build_runner
from visrep.cli.config_checks import ConfigError, check_strategy
from visrep.cli.test import check_checkpoint
from _helpers import REPO_ROOT

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')


@functools.lru_cache(maxsize=1)
def _smoke_config() -> Config:
    return Config.fromfile(CONFIG)


def _cfg(tmp_path, launcher='pytorch', **fields) -> Config:
    cfg = copy.deepcopy(_smoke_config())
    cfg.work_dir = str(tmp_path)
    cfg.launcher = launcher
    cfg.merge_from_dict(fields)
    return cfg


def test_a_strategy_builds_the_flexible_runner(tmp_path):
    cfg = _cfg(tmp_path, launcher='none',
               strategy=dict(type='SingleDeviceStrategy'))
    check_strategy(cfg)
    runner = build_runner(cfg)
    assert type(runner) is FlexibleRunner
    assert type(runner.strategy).__name__ == 'SingleDeviceStrategy'
    # without a strategy: the Runner, as before
    assert type(build_runner(_cfg(tmp_path, launcher='none'))) is Runner


@pytest.mark.parametrize('compile_cfg', [True, dict(backend='aot_eager')])
def test_compile_reaches_the_flexible_runner(tmp_path, compile_cfg):
    """``compile`` in a ``strategy`` config is the FlexibleRunner's, as the
    Runner's (mmengine's ``from_cfg`` dropped it)."""
    cfg = _cfg(tmp_path, launcher='none',
               strategy=dict(type='SingleDeviceStrategy'),
               compile=compile_cfg)
    check_strategy(cfg)
    runner = build_runner(cfg)
    assert type(runner) is FlexibleRunner
    assert runner._compile == compile_cfg
    cfg.compile = 'yes'
    with pytest.raises(TypeError, match='compile should be a bool or dict'):
        build_runner(cfg)


@pytest.mark.parametrize('strategy, message', [
    (dict(type='FSDPStrateg'), r"strategy.type='FSDPStrateg' is not a "
     r"strategy mmengine knows; use one of \[.*'FSDPStrategy'"),
    (dict(model_wrapper=dict()), r'a strategy is a dict with a `type`'),
    ('FSDPStrategy', r'a strategy is a dict with a `type`'),
])
def test_a_bad_strategy_is_named(tmp_path, strategy, message):
    with pytest.raises(ConfigError, match=message):
        check_strategy(_cfg(tmp_path, strategy=strategy))


def test_train_tool_stops_on_an_unknown_strategy(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        train_cli.cli([CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                       'strategy.type=DDPStrateg'])
    assert exit_.value.code == 2
    assert "strategy.type='DDPStrateg'" in capsys.readouterr().err


@pytest.mark.parametrize('field, value, where', [
    ('model_wrapper_cfg', dict(type='MMDistributedDataParallel'),
     'strategy.model_wrapper'),
    ('find_unused_parameters', True, 'find_unused_parameters=True'),
    ('sync_bn', 'torch', 'strategy.sync_bn'),
])
def test_runner_only_fields_with_a_strategy_are_named(tmp_path, field, value,
                                                      where):
    cfg = _cfg(tmp_path, strategy=dict(type='DDPStrategy'), **{field: value})
    with pytest.raises(ConfigError, match=f'{field}=.*ignores it.*{where}'):
        check_strategy(cfg)


def test_a_runner_that_ignores_the_strategy_is_named(tmp_path):
    cfg = _cfg(tmp_path, strategy=dict(type='FSDPStrategy'),
               runner_type='Runner')
    with pytest.raises(ConfigError, match="runner_type='Runner' ignores it"):
        check_strategy(cfg)
    cfg.runner_type = 'FlexibleRunner'
    check_strategy(cfg)


def test_a_sharded_strategy_needs_a_launcher(tmp_path):
    cfg = _cfg(tmp_path, launcher='none', strategy=dict(type='FSDPStrategy'))
    with pytest.raises(ConfigError, match='tools/dist_train.sh CONFIG N'):
        check_strategy(cfg)


def test_a_strategy_package_that_does_not_import_is_named(tmp_path):
    try:
        import deepspeed  # noqa: F401
        pytest.skip('deepspeed is installed')
    except ImportError:
        pass
    cfg = _cfg(tmp_path, strategy=dict(type='DeepSpeedStrategy'))
    with pytest.raises(ConfigError, match='needs the deepspeed package'):
        check_strategy(cfg)


def test_ddp_strategy_on_cpu_wraps_cpu_modules(tmp_path):
    cfg = _cfg(tmp_path, strategy=dict(type='DDPStrategy'))
    adapt_to_cpu_distributed(cfg)
    assert cfg.strategy.model_wrapper == dict(
        type='visrep.CPUDistributedDataParallel', broadcast_buffers=False)
    assert 'model_wrapper_cfg' not in cfg
    mine = _cfg(tmp_path, strategy=dict(
        type='DDPStrategy', model_wrapper=dict(find_unused_parameters=True)))
    adapt_to_cpu_distributed(mine)
    assert mine.strategy.model_wrapper == dict(
        type='visrep.CPUDistributedDataParallel', find_unused_parameters=True)
    fsdp = _cfg(tmp_path, strategy=dict(type='FSDPStrategy'))
    adapt_to_cpu_distributed(fsdp)  # visrep.compat.fsdp_strategy's part
    assert fsdp.strategy == dict(type='FSDPStrategy')


def test_amp_with_a_strategy_switches_the_optim_wrapper(tmp_path):
    args = train_cli.parse_args([CONFIG, '--amp'])
    cfg = train_cli.merge_args(_cfg(tmp_path,
                                    strategy=dict(type='FSDPStrategy')), args)
    assert cfg.optim_wrapper.type == 'visrep.CPUAmpOptimWrapper'


def test_test_tool_takes_a_sharded_checkpoint_directory(tmp_path):
    sharded = tmp_path / 'iter_3.pth'
    sharded.mkdir()
    check_checkpoint(str(sharded), _cfg(tmp_path,
                                        strategy=dict(type='FSDPStrategy')))
    with pytest.raises(ConfigError, match='does not exist'):
        check_checkpoint(str(sharded), _cfg(tmp_path))


@pytest.mark.parametrize('fails', [False, True])
def test_the_tools_destroy_the_process_group_when_the_run_ends(tmp_path,
                                                               fails):
    """``tools/train.py`` and ``tools/test.py`` run inside
    ``releasing_process_group``, which destroys the group when the run ends
    or fails: a group left to the interpreter's exit can abort a finished
    gloo run (SIGABRT, 'terminate called without an active exception')."""
    import torch.distributed as dist
    from visrep.cli.common import releasing_process_group
    dist.init_process_group('gloo', rank=0, world_size=1,
                            init_method=f'file://{tmp_path}/store')
    try:
        with pytest.raises(RuntimeError) if fails else \
                contextlib.nullcontext():
            with releasing_process_group():
                assert dist.is_initialized()
                if fails:
                    raise RuntimeError('the run failed')
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    with releasing_process_group():  # no group: nothing to do
        pass
