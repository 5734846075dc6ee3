"""Fixtures shared by the suite's tests."""
import os
import os.path as osp

if 'PYTEST_XDIST_WORKER_COUNT' in os.environ:
    # ``pytest -n N``: share the cores between the workers (and the tools
    # they launch) instead of letting each one's OpenMP pool take them all
    _workers = int(os.environ['PYTEST_XDIST_WORKER_COUNT'])
    os.environ.setdefault('OMP_NUM_THREADS',
                          str(max(1, (os.cpu_count() or 1) // _workers)))

import pytest

import visrep  # noqa: F401  (compatibility layer first, as in every entry point)
from visrep.datasets.synthetic import GENERATORS, make_small_dataset


@pytest.fixture(scope='session')
def small_data_cwd(tmp_path_factory):
    """A working directory whose ``data/small/`` holds all the small sets.

    Small-data configs read ``data/small/...`` relative to the current
    directory, so tools run with this as ``cwd`` find the datasets there
    (each with its ``VISREP_SMALL_DATA`` marker, as the tool writes them).
    """
    cwd = tmp_path_factory.mktemp('small_data')
    for name in GENERATORS:
        make_small_dataset(name, osp.join(str(cwd), 'data', 'small'), seed=0)
    return str(cwd)


@pytest.fixture(autouse=True)
def no_default_scope():
    """Every test starts without a current mmengine ``DefaultScope``.

    A runner or ``init_default_scope`` leaves its scope current for the rest
    of the process, and registry lookups follow it: without this reset a
    test's outcome would depend on which tests its worker ran before.
    """
    from mmengine.registry import DefaultScope
    DefaultScope._instance_dict.clear()
    yield
