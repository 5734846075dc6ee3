"""Checkpoints load with ``weights_only=True`` and an explicit allow-list; nothing runs.

An mmengine checkpoint stores, besides tensors, the message hub (with
``HistoryBuffer`` objects and NumPy scalars and arrays) under ``meta``.  Since
torch 2.6 ``torch.load`` refuses these by default, so ``--resume`` and
``load_from`` fail with "Unsupported global: ...HistoryBuffer" (mmengine issue
#1655; mmengine's main branch "fixed" it by loading with
``weights_only=False``, which runs whatever the pickle names: a ``.pth`` whose
``meta`` holds ``os.system`` runs a command when loaded).

We replace mmengine's loader for local files (the ``''`` scheme of
``CheckpointLoader``, the path of ``load_from``, ``--resume``,
``init_cfg=dict(type='Pretrained')`` and ``tools/test.py``) with one that
loads with ``weights_only=True`` and the globals of
:func:`mmengine_safe_globals` only -- the complete list found in the epoch
checkpoints of all four toolkits and every plugin (``builtins.getattr``,
``HistoryBuffer``, ``numpy.ndarray``, ``numpy.dtype``,
``numpy._core.multiarray._reconstruct`` / ``scalar``; enumerated with
``torch.serialization.get_unsafe_globals_in_checkpoint`` over
``work_dirs/small/*/*.pth``), plus torch's ``ShardedTensor`` classes in the
per-rank files of ``FSDPStrategy(state_dict_cfg='local')``.  ``getattr`` is allowed only as
``getattr(HistoryBuffer, <statistic>)``, the one use mmengine makes of it.

A file holding anything else is refused with :class:`UntrustedCheckpointError`
naming the globals and the opt-in: ``VISREP_TRUST_CHECKPOINTS=1`` in the
environment loads it with ``weights_only=False`` (for a file you trust, e.g.
an old release that pickled its training config).  A file that is not a
``torch.save`` file at all raises :class:`NotACheckpointError` naming it.

Checkpoints over http(s) go through ``torch.hub``'s loader (torch's default,
``weights_only=True``).
"""
import logging
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Dict, List, Set

import torch

_LOGGER_NAME = 'current'

#: environment variable that allows unpickling arbitrary objects
TRUST_ENV = 'VISREP_TRUST_CHECKPOINTS'


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects outside the allow-list; loading could run code."""


class NotACheckpointError(ValueError):
    """The file is not a ``torch.save`` file (e.g. a text file)."""


def trust_checkpoints() -> bool:
    """Whether ``VISREP_TRUST_CHECKPOINTS=1`` allows arbitrary unpickling."""
    return os.environ.get(TRUST_ENV, '') == '1'


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


#: HistoryBuffer's default statistics (``_set_default_statistics``)
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _allowed_attributes() -> Dict[Any, Set[str]]:
    """class -> the attributes a checkpoint may read with ``getattr``:
    HistoryBuffer's statistic methods, ``ShardedTensor.ProcessGroupState``
    (a nested class, pickled as an attribute)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    allowed = {HistoryBuffer: set(HistoryBuffer._statistics_methods) |
               set(_HISTORY_BUFFER_STATISTICS)}
    if torch.distributed.is_available():
        from torch.distributed._shard.sharded_tensor.api import ShardedTensor
        allowed[ShardedTensor] = {'ProcessGroupState'}
    return allowed


def restricted_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as the unpickler of a checkpoint may call it: only the
    attributes of :func:`_allowed_attributes` (mmengine pickles
    ``HistoryBuffer``'s statistic methods as ``getattr(HistoryBuffer,
    'min')``)."""
    # looked up per call: statistics registered after import count too
    if isinstance(obj, type) and name in _allowed_attributes().get(obj, ()):
        return getattr(obj, name)
    raise UntrustedCheckpointError(
        f'the checkpoint calls getattr({obj!r}, {name!r}); only '
        'getattr(HistoryBuffer, <statistic>) and the like are allowed. Set '
        f'{TRUST_ENV}=1 to load a file you trust with weights_only=False.')


#: torch's own classes in the per-rank files of mmengine's ``FSDPStrategy``
#: with ``state_dict_cfg='local'`` (``ShardedTensor`` and its metadata)
_SHARDED_TENSOR_GLOBALS = (
    ('torch.distributed._shard.metadata', 'ShardMetadata'),
    ('torch.distributed._shard.sharded_tensor.metadata',
     'ShardedTensorMetadata'),
    ('torch.distributed._shard.sharded_tensor.metadata',
     'MEM_FORMAT_ENCODING'),
    ('torch.distributed._shard.sharded_tensor.metadata', 'TensorProperties'),
    ('torch.distributed._shard.sharding_spec.api',
     'EnumerableShardingSpec'),
    ('torch.distributed._shard.sharding_spec.chunk_sharding_spec',
     'ChunkShardingSpec'),
    ('torch.distributed.remote_device', '_remote_device'),
    ('torch.distributed._shard.sharded_tensor.shard', 'Shard'),
    ('torch.distributed._shard.sharded_tensor.api', 'ShardedTensor'),
    ('torch.distributed._shard.sharded_tensor.api',
     'ShardedTensor.ProcessGroupState'),
)


def _sharded_tensor_globals() -> List[Any]:
    import importlib
    if not torch.distributed.is_available():
        return []
    items = []
    for module, name in _SHARDED_TENSOR_GLOBALS:
        item = importlib.import_module(module)
        for part in name.split('.'):
            item = getattr(item, part)
        items.append((item, f'{module}.{name}'))
    return items


def mmengine_safe_globals() -> List[Any]:
    """Globals mmengine 0.10.7 writes into a checkpoint besides tensors.

    ``HistoryBuffer`` stores its statistic methods, which pickle as
    ``getattr(HistoryBuffer, 'min')``: hence :func:`restricted_getattr`.  The
    list applies only inside :func:`load_checkpoint_file`.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, (restricted_getattr, 'builtins.getattr')
            ] + _numpy_globals() + _sharded_tensor_globals()


def _allowed_names() -> Dict[str, Any]:
    names = {}
    for item in mmengine_safe_globals():
        if isinstance(item, tuple):
            names[item[1]] = item[0]
        else:
            names[f'{item.__module__}.{item.__qualname__}'] = item
    return names


def check_checkpoint_format(filename: str) -> None:
    """Raise :class:`NotACheckpointError` unless ``filename`` is a
    ``torch.save`` file: a zip archive (torch >= 1.6) or a legacy pickle
    (first byte ``0x80``, the pickle protocol opcode)."""
    if zipfile.is_zipfile(filename):
        return
    with open(filename, 'rb') as f:
        head = f.read(1)
    if head != b'\x80':
        size = osp.getsize(filename)
        raise NotACheckpointError(
            f'{filename} is not a PyTorch checkpoint (a torch.save file is a '
            f'zip archive or a pickle; this one is {size} bytes of something '
            'else, e.g. text or an HTML error page from a failed download). '
            'Point the field at the .pth file a training run wrote.')


def unsafe_globals(filename: str) -> List[str]:
    """Globals in ``filename``'s pickle outside :func:`mmengine_safe_globals`
    (read from the pickle's opcodes; nothing is unpickled)."""
    if not zipfile.is_zipfile(filename):
        return []  # legacy format: the weights-only unpickler alone decides
    found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    allowed = _allowed_names()
    return [name for name in found if name not in allowed]


def refusal(filename: str, names: List[str]) -> UntrustedCheckpointError:
    """The error refusing ``filename`` for ``names``, naming the opt-in."""
    return UntrustedCheckpointError(
        f'{filename} holds objects that weights-only loading does not allow: '
        f'{", ".join(names)}. Unpickling them can run arbitrary code, so the '
        f'file is refused. If you trust the file, set {TRUST_ENV}=1 in the '
        'environment to load it with weights_only=False; or re-save only its '
        'tensors (e.g. tools/misc/publish_model.py).')


def _unpickler_reason(message: str) -> str:
    """The line of torch's weights-only error that says what was refused."""
    lines = [line.strip() for line in message.split(
        'WeightsUnpickler error:')[-1].splitlines() if line.strip()]
    for line in lines:
        if not line.startswith(('Weights only load failed', 'Check the ',
                                'Please file an issue')):
            return line
    return lines[0] if lines else message


def load_checkpoint_file(filename: str, map_location=None,
                         mmap: bool = False) -> Any:
    """``torch.load`` of a local checkpoint (see the module doc): weights
    only with the allow-list, or everything with ``VISREP_TRUST_CHECKPOINTS=1``.
    ``mmap``: map the tensors instead of reading them (zip format only)."""
    from mmengine.logging import print_log
    check_checkpoint_format(filename)
    mmap = mmap and zipfile.is_zipfile(filename)
    if trust_checkpoints():
        print_log(f'{TRUST_ENV}=1: loading {filename} with weights_only=False '
                  '(unpickling can run code).', logger=_LOGGER_NAME,
                  level=logging.WARNING)
        # allowed: the user opted in for files they trust
        return torch.load(filename, map_location=map_location,
                          weights_only=False, mmap=mmap)
    names = unsafe_globals(filename)
    if names:
        raise refusal(filename, names)
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True, mmap=mmap)
    except UntrustedCheckpointError:
        raise
    except pickle.UnpicklingError as err:
        raise refusal(filename, [_unpickler_reason(str(err))]) from err


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
