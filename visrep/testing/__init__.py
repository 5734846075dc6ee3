"""Helpers for the suite's tests: running the tools, reading their logs.

They live in the package (not in ``tests/``) so that tests never import a
module named ``tests`` (mmsegmentation's wheel installs one).
"""
from .runs import (REPO_ROOT, last_checkpoint, read_scalars,
                   read_test_metrics, read_val_metrics, run_tool,
                   train_and_test, train_in_process)

__all__ = ['REPO_ROOT', 'last_checkpoint', 'read_scalars',
           'read_test_metrics', 'read_val_metrics', 'run_tool',
           'train_and_test', 'train_in_process']
