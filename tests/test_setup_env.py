"""tools/setup_env.sh without installing anything (issue 24).

* ``--cuda`` picks the torch variant: its index, the CUDA version the torch
  check then asserts, and constraints without the CUDA library pins of
  PyPI's default build (``--print-plan`` shows them and exits); variants
  torch 2.13 is not built for, and unknown arguments, exit 2 with a message.
* The mmcv decision (tools/setup_env_mmcv.py): install, rebuild without
  pip's cache, or stop for a missing nvcc -- for fabricated facts (a GPU
  machine with a wheel cached on a CPU machine included), and ``ok`` for
  this environment's real mmcv.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from _helpers.runs import REPO_ROOT

SETUP = osp.join(REPO_ROOT, 'tools', 'setup_env.sh')
MMCV_CHECK = osp.join(REPO_ROOT, 'tools', 'setup_env_mmcv.py')


def _plan(tmp_path, *args):
    venv = tmp_path / 'venv'
    proc = subprocess.run(['bash', SETUP, *args, '--print-plan'], text=True,
                          capture_output=True,
                          env=dict(os.environ, VISREP_VENV=str(venv)))
    assert not venv.exists(), '--print-plan must not create anything'
    plan = dict(line.split('=', 1) for line in proc.stdout.splitlines())
    return proc, plan


def test_default_is_pypi_with_the_tested_constraints(tmp_path):
    proc, plan = _plan(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert plan['cuda_variant'] == 'pypi' and plan['torch_index'] == 'pypi'
    assert plan['torch_cuda'] == 'any'
    assert plan['constraints'] == osp.join(REPO_ROOT, 'requirements',
                                           'constraints.txt')
    assert plan['mmcv'] == '2.1.0'


@pytest.mark.parametrize('args,cuda', [(('--cuda', 'cu128'), '12.8'),
                                       (('--cuda=cu126',), '12.6'),
                                       (('--cuda', 'cu130'), '13.0'),
                                       (('--cuda', 'cpu'), 'none')])
def test_cuda_variant(tmp_path, args, cuda):
    proc, plan = _plan(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    variant = args[-1].split('=')[-1]
    assert plan['cuda_variant'] == variant
    assert plan['torch_index'] == f'https://download.pytorch.org/whl/{variant}'
    assert plan['torch_cuda'] == cuda
    assert plan['constraints'] == str(
        tmp_path / 'venv' / 'setup-logs' / f'constraints-{variant}.txt')


@pytest.mark.parametrize('args,message', [
    (('--cuda', 'cu121'), 'torch 2.13.0 is not built for that CUDA'),
    (('--cuda', 'cu124'), 'use cu126, cu128, cu130 or cpu'),
    (('--cuda', 'cuda12'), 'not a torch 2.13.0 variant'),
    (('--gpu',), "unknown argument '--gpu'"),
])
def test_bad_arguments_exit_2(tmp_path, args, message):
    proc, _ = _plan(tmp_path, *args)
    assert proc.returncode == 2
    assert message in proc.stderr and 'usage:' in proc.stderr


def _mmcv_check_module():
    spec = importlib.util.spec_from_file_location('setup_env_mmcv',
                                                  MMCV_CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GOOD = dict(version='2.1.0', ops_error=None, compiled_cuda='12.8',
            cuda_available=True, cuda_op_error=None, cuda_home='/usr/cuda')


@pytest.mark.parametrize('changes,action,reason', [
    ({}, 'ok', 'CUDA op ran'),
    (dict(version=None, import_error='ModuleNotFoundError'), 'install',
     'not installed'),
    (dict(version='2.2.0'), 'install', '2.2.0 is installed, not 2.1.0'),
    (dict(ops_error="ImportError: mmcv._ext"), 'rebuild', 'no compiled ops'),
    # a wheel cached on a CPU machine reused on a GPU machine
    (dict(compiled_cuda='not available'), 'rebuild', 'without CUDA kernels'),
    (dict(cuda_op_error='RuntimeError: no kernel image'), 'rebuild',
     'fails a CUDA op'),
    (dict(compiled_cuda='not available', cuda_home=None), 'no-compiler',
     'needs nvcc'),
    # CPU machines: a CPU-only build is what they need
    (dict(compiled_cuda='not available', cuda_available=False,
          cuda_home=None), 'ok', 'no CUDA here'),
    (dict(ops_error='ImportError', cuda_available=False, cuda_home=None),
     'rebuild', 'no compiled ops'),
])
def test_mmcv_decision(changes, action, reason):
    got, why = _mmcv_check_module().decide(dict(GOOD, **changes), '2.1.0')
    assert got == action and reason in why, why


def test_mmcv_check_command_line_and_this_environment():
    module = _mmcv_check_module()
    facts = json.dumps(dict(GOOD, compiled_cuda='not available'))
    proc = subprocess.run([sys.executable, MMCV_CHECK, '--expected', '2.1.0',
                           '--facts', facts], text=True, capture_output=True)
    assert proc.returncode == module.EXIT_CODES['rebuild'] == 11
    assert proc.stdout.startswith('rebuild: CUDA is present')
    # this environment's real mmcv (built with ops by setup_env.sh)
    facts = module.probe()
    assert facts['ops_error'] is None and facts['version'] == '2.1.0'
    action, why = module.decide(facts, '2.1.0')
    assert action == 'ok', why
