"""Distributed launch on machines without CUDA (CPU processes talking over gloo).

mmengine 0.10.7's launch helpers (``_init_dist_pytorch``, ``_init_dist_slurm``,
``_init_dist_mpi``) call ``torch.cuda.set_device`` unconditionally and the
toolkits' configs ask for the ``nccl`` backend; on a machine without a GPU
both fail.  When CUDA is not available we run those helpers with
``torch.cuda.set_device`` as a no-op and the backend switched to ``gloo``.
With CUDA present nothing changes.

The rest of CPU data parallelism (a DDP wrapper without ``device_ids``, SyncBN
reverted to BN because PyTorch's SyncBN needs a GPU) is set up from the config
by :func:`visrep.cli.common.adapt_to_cpu_distributed`.
"""
import contextlib
import functools
import logging

import torch

_LAUNCH_HELPERS = ('_init_dist_pytorch', '_init_dist_slurm', '_init_dist_mpi')


@contextlib.contextmanager
def _without_cuda_set_device():
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def _cpu_launch(helper):

    @functools.wraps(helper)
    def launch(backend, *args, **kwargs):
        if torch.cuda.is_available():
            return helper(backend, *args, **kwargs)
        if backend != 'gloo':
            from mmengine.logging import print_log
            print_log(
                f'CUDA is not available: using the gloo backend instead of '
                f'{backend!r} for distributed training.',
                logger='current', level=logging.WARNING)
        with _without_cuda_set_device():
            return helper('gloo', *args, **kwargs)

    launch.__visrep_patched__ = True
    return launch


def install() -> None:
    from mmengine.dist import utils as dist_utils
    for name in _LAUNCH_HELPERS:
        helper = getattr(dist_utils, name)
        if not getattr(helper, '__visrep_patched__', False):
            setattr(dist_utils, name, _cpu_launch(helper))
