"""Fixtures shared by the suite's tests."""
import os.path as osp

import pytest

import visrep  # noqa: F401  (compatibility layer first, as in every entry point)
from visrep.datasets.synthetic import GENERATORS


@pytest.fixture(scope='session')
def small_data_cwd(tmp_path_factory):
    """A working directory whose ``data/`` holds all five small datasets.

    Configs read ``data/...`` relative to the current directory, so tools run
    with this as ``cwd`` find the datasets at their standard paths.
    """
    cwd = tmp_path_factory.mktemp('small_data')
    for make in GENERATORS.values():
        make(osp.join(str(cwd), 'data'), seed=0)
    return str(cwd)
