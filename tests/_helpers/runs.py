"""Run ``tools/*.py`` / ``tools/*.sh`` in a subprocess and read what they log.

:func:`read_scalars` is the library's (:mod:`visrep.cli.run_logs`), which
the shipped tools use too.  Importing this module makes glibc keep freed
memory for reuse in the processes the tests start (:func:`keep_freed_memory`).
"""
import glob
import importlib.util
import json
import math
import os
import os.path as osp
import signal
import subprocess
import sys
import types
from typing import Dict, Optional, Sequence

from visrep.cli.run_logs import read_scalars

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_script(path: str) -> types.ModuleType:
    """A script of the repo (``path`` relative to it) as a module, to call
    its functions in this process; scripts are not importable packages."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(
        name, osp.join(REPO_ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: glibc malloc settings for the processes the tests start (tools, their
#: launchers and dataloader workers): keep freed memory in the heap for
#: reuse.  By default glibc serves large blocks with ``mmap`` and returns
#: them (and the heap's free top) to the kernel on ``free``, so every
#: training step page-faults its activations back in, zero-filled: 2-6
#: million faults and 7-17 % of the CPU time of a smoke training.  Results
#: are bit-identical.  Not for the long-lived test process itself: across
#: its many tests the heap fragments (measured: 10 instead of 4 GB peak).
KEEP_FREED_MEMORY_ENV = {
    'MALLOC_MMAP_THRESHOLD_': str(2**31 - 1),
    'MALLOC_TRIM_THRESHOLD_': str(2**31 - 1),
}


def keep_freed_memory() -> None:
    """Put :data:`KEEP_FREED_MEMORY_ENV` into this process's environment,
    which every process it starts inherits, unless it sets either variable
    itself."""
    if not any(name in os.environ for name in KEEP_FREED_MEMORY_ENV):
        os.environ.update(KEEP_FREED_MEMORY_ENV)


# set once, when the tests import the helpers
keep_freed_memory()


def run_tool(args: Sequence[str],
             cwd: str,
             timeout: float = 900,
             env: Optional[Dict[str, str]] = None,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run a repo tool with this interpreter; ``args[0]`` is relative to the repo.

    ``.py`` tools run as ``python tools/x.py ...``, ``.sh`` tools with bash
    (and ``PYTHON`` pointing at this interpreter).  With ``check`` a non-zero
    exit raises with the tail of the output.
    """
    tool = osp.join(REPO_ROOT, args[0])
    run_env = dict(os.environ, PYTHONUNBUFFERED='1', PYTHON=sys.executable)
    run_env.update(env or {})
    command = [sys.executable, tool] if tool.endswith('.py') else ['bash', tool]
    # a session of its own: on timeout the whole tree goes (a launcher's
    # worker processes would otherwise keep running, and keep the CPUs)
    proc = subprocess.Popen(
        command + list(args[1:]), cwd=cwd, env=run_env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, _ = proc.communicate()
        raise AssertionError(
            f'{" ".join(args)} ran past {timeout:.0f} s and was killed:\n'
            + _failure_lines(stdout) + stdout[-6000:]) from None
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(args)} exited with {proc.returncode}:\n'
            + _failure_lines(proc.stdout) + proc.stdout[-6000:])
    return proc


_FAILURE_MARKS = ('Error', 'error:', 'terminate called', 'what():', 'Abort',
                  'Signal ', 'Traceback', 'Killed')


def _failure_lines(output: str, limit: int = 30) -> str:
    """The lines of a long log that say what went wrong, wherever they are
    (a failing process's message is often far above the tail)."""
    lines = [line for line in output.splitlines()
             if any(mark in line for mark in _FAILURE_MARKS)]
    if not lines:
        return ''
    return ('lines that name the failure:\n' + '\n'.join(lines[:limit]) +
            '\n--- tail of the output ---\n')


def read_val_metrics(work_dir: str) -> dict:
    """The last evaluation record (the one without a training ``loss``)."""
    records = [r for r in read_scalars(work_dir) if 'loss' not in r]
    if not records:
        raise AssertionError(f'no evaluation was logged in {work_dir}')
    return records[-1]


def read_test_metrics(work_dir: str) -> dict:
    """The metrics ``tools/test.py`` wrote (``<work_dir>/<time>/<time>.json``)."""
    files = sorted(
        f for f in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(f)[:-5] == osp.basename(osp.dirname(f)))
    if not files:
        raise FileNotFoundError(f'no test metrics json under {work_dir}')
    with open(files[-1]) as f:
        return json.load(f)


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint a training run recorded in ``last_checkpoint`` (the
    record is relative to the work dir; an absolute one is kept)."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return osp.join(work_dir, f.read().strip())


def train_and_test(config: str, cwd: str, work_dir: str,
                   train_args: Sequence[str] = ('--seed', '0')) -> dict:
    """``tools/train.py`` then ``tools/test.py`` on its last checkpoint.

    Asserts that every logged training loss is finite and returns the
    metrics ``tools/test.py`` wrote (its work dir is ``work_dir + '_test'``).
    """
    run_tool(['tools/train.py', config, '--work-dir', work_dir,
              *train_args], cwd=cwd)
    losses = [r['loss'] for r in read_scalars(work_dir) if 'loss' in r]
    assert losses and all(math.isfinite(v) for v in losses), \
        f'training losses not finite: {losses}'
    test_dir = work_dir + '_test'
    run_tool(['tools/test.py', config, last_checkpoint(work_dir),
              '--work-dir', test_dir], cwd=cwd)
    return read_test_metrics(test_dir)


def train_in_process(cfg):
    """Build a ``Runner`` from ``cfg`` and train; returns the runner.

    Asserts the last training loss is finite and that an evaluation ran.
    """
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    assert math.isfinite(scalars['train/loss'].current())
    assert 'val/time' in scalars, 'the evaluation did not run'
    return runner
