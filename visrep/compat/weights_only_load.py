"""torch >= 2.6 loads with ``weights_only=True``; mmengine 0.10.7 checkpoints hold more.

An mmengine checkpoint stores, besides tensors, the message hub (with
``HistoryBuffer`` objects and NumPy scalars and arrays) under ``meta``.  Since
torch 2.6 ``torch.load`` refuses these by default, so ``--resume`` and
``load_from`` fail with "Unsupported global: ...HistoryBuffer" (mmengine issue
#1655; fixed on mmengine's main branch by loading with ``weights_only=False``,
not released).

We replace mmengine's loader for local files (the ``''`` scheme of
``CheckpointLoader``) with one that

1. loads with ``weights_only=True`` and an allow-list of the types mmengine
   itself writes (:data:`MMENGINE_SAFE_GLOBALS`): every checkpoint the suite
   and the toolkits write loads this way, with no arbitrary unpickling;
2. only if a file holds other objects (e.g. an old release that pickled its
   training config), loads it with ``weights_only=False`` -- what mmengine's
   own fix does -- and warns naming the objects, since such a file can run
   code: load only checkpoints you trust.

Checkpoints over http(s) already go through ``torch.hub``, which loads with
``weights_only=False``.
"""
import logging
import os.path as osp
import pickle
from typing import Any, List

import torch

_LOGGER_NAME = 'current'


def _numpy_globals() -> List[Any]:
    import numpy as np
    items: List[Any] = [np.ndarray, np.dtype]
    # how numpy pickles arrays and scalars; NumPy 2 moved them from
    # numpy.core to numpy._core, and checkpoints written under NumPy 1 still
    # name the old module, so both names are allowed
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    for func in (_reconstruct, scalar):
        items.append(func)
        for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
            if module != func.__module__:
                items.append((func, f'{module}.{func.__name__}'))
    # dtype classes, e.g. numpy.dtypes.Float64DType (NumPy >= 1.25)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [
            getattr(dtypes, name) for name in dir(dtypes)
            if name.endswith('DType') and isinstance(getattr(dtypes, name), type)
        ]
    return items


def mmengine_safe_globals() -> List[Any]:
    """Globals mmengine 0.10.7 writes into a checkpoint besides tensors.

    ``HistoryBuffer`` stores its statistic methods, which pickle as
    ``getattr(HistoryBuffer, 'min')``: hence ``getattr``.  The weights-only
    unpickler still calls nothing but the callables listed here, and the
    list applies only inside :func:`load_checkpoint_file`.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, getattr] + _numpy_globals()


def load_checkpoint_file(filename: str, map_location=None) -> Any:
    """``torch.load`` for mmengine checkpoints on torch >= 2.6 (see module doc)."""
    from mmengine.logging import print_log
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # noqa: BLE001 - e.g. legacy (non-zip) format
            unsafe = ['<legacy checkpoint format>']
        print_log(
            f'{filename} holds objects that weights-only loading does not '
            f'allow ({", ".join(unsafe)}); loading it with '
            'weights_only=False, as mmengine does after its fix #1670. '
            'Unpickling can run code: load only checkpoints you trust.',
            logger=_LOGGER_NAME, level=logging.WARNING)
        return torch.load(
            filename, map_location=map_location, weights_only=False)


def load_from_local(filename: str, map_location=None) -> Any:
    """mmengine's local-file checkpoint scheme, with :func:`load_checkpoint_file`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location)


def install() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
