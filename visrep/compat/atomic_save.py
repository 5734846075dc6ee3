"""Checkpoints are saved atomically: never a truncated ``epoch_N.pth``.

mmengine 0.10.7 saves a checkpoint (``save_checkpoint``: ``torch.save`` into
memory, then ``LocalBackend.put``) by opening the final file and writing
into it, so a run killed during the save (SIGKILL, out of disk, a job time
limit) leaves a truncated ``epoch_2.pth`` under a normal name, which a later
``--resume`` picks up and fails on.  ``LocalBackend.put`` -- the one place
mmengine writes local files from bytes (checkpoints, ``DumpResults``) -- is
replaced by :func:`visrep.checkpoint.atomic_write.atomic_write_bytes`:
temporary file in the same directory, ``fsync``, ``os.replace``.
"""
from pathlib import Path
from typing import Union

from visrep.checkpoint.atomic_write import atomic_write_bytes


def put_atomically(self, obj: bytes, filepath: Union[str, Path]) -> None:
    """``LocalBackend.put`` (write bytes, create the directory) done atomically."""
    atomic_write_bytes(obj, str(filepath))


def install() -> None:
    from mmengine.fileio.backends.local_backend import LocalBackend
    LocalBackend.put = put_atomically
