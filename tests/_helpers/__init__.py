"""Helpers for the suite's tests: running the tools, reading their logs,
shrinking configs onto the small datasets.

``pytest.ini`` puts ``tests/`` on ``sys.path`` (its ``pythonpath``), so tests
import this as ``_helpers``; no test imports a package named ``tests``
(mmsegmentation's wheel installs one).  Nothing here names a plugin: each
plugin's test folder teaches :mod:`_helpers.small_data` its backbones in a
``shrinkers.py`` (see :func:`_helpers.small_data.load_plugin_shrinkers`).
"""
from .runs import (REPO_ROOT, last_checkpoint, read_scalars,
                   read_test_metrics, read_val_metrics, run_tool,
                   train_and_test, train_in_process)

__all__ = ['REPO_ROOT', 'last_checkpoint', 'read_scalars',
           'read_test_metrics', 'read_val_metrics', 'run_tool',
           'train_and_test', 'train_in_process']
