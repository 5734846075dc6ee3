"""The ``last_checkpoint`` file of a work dir: written relative, read safely.

mmengine's ``CheckpointHook`` writes the absolute path of the newest
checkpoint into ``<work_dir>/last_checkpoint`` and auto-resume
(``resume=True`` without ``load_from``; ``tools/train.py --resume``) reads it
back with ``find_latest_checkpoint``.  Three faults follow: a copied work dir
resumes the *original* run's file, a moved one cannot resume, and a work dir
holding checkpoints but no ``last_checkpoint`` trains from scratch and
overwrites them.  Here the path is written relative to the work dir and
:func:`resolve_last_checkpoint` reads new and old files (see its doc).
"""
import glob
import logging
import os.path as osp
from typing import List, Optional

from .atomic_write import atomic_write_text

LAST_CHECKPOINT = 'last_checkpoint'


class ResumeError(ValueError):
    """Auto-resume cannot tell which checkpoint to continue; says how to pick one."""


def checkpoint_files(work_dir: str) -> List[str]:
    """The ``*.pth`` files directly in ``work_dir``, oldest first."""
    files = glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
    return sorted(files, key=lambda f: (osp.getmtime(f), f))


def _inside(path: str, directory: str) -> bool:
    directory = osp.abspath(directory)
    return osp.commonpath([osp.abspath(path), directory]) == directory


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Record ``checkpoint`` in ``work_dir/last_checkpoint`` (atomically):
    relative to the work dir when inside it, else absolute (a
    ``CheckpointHook(out_dir=...)`` elsewhere)."""
    if _inside(checkpoint, work_dir):
        text = osp.relpath(osp.abspath(checkpoint), osp.abspath(work_dir))
    else:
        text = osp.abspath(checkpoint)
    atomic_write_text(text, osp.join(work_dir, LAST_CHECKPOINT))


def _no_last_checkpoint(work_dir: str) -> Optional[str]:
    found = checkpoint_files(work_dir)
    if not found:
        return None
    names = ', '.join(osp.basename(f) for f in found)
    raise ResumeError(
        f'auto-resume (--resume without a path / resume=True): the work dir '
        f'{work_dir} holds checkpoints ({names}) but no {LAST_CHECKPOINT} '
        'file, so it would train from scratch and overwrite them. Resume '
        f'one of them explicitly, e.g. --resume {found[-1]}, or train from '
        'scratch in another --work-dir.')


def _warn(message: str) -> None:
    from mmengine.logging import print_log
    print_log(message, logger='current', level=logging.WARNING)


def resolve_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint auto-resume continues in ``work_dir``, or None (a
    fresh work dir: no ``last_checkpoint`` and no ``*.pth``).

    * a relative path is read relative to ``work_dir``;
    * an absolute path (written by mmengine itself) inside ``work_dir`` is
      used; one outside it -- a copied or moved work dir -- is replaced by
      the file of the same name in ``work_dir`` if there is one (with a
      warning); else, if it exists (``CheckpointHook(out_dir=...)``), it is
      used with a warning naming it;
    * a missing file, an empty ``last_checkpoint``, or checkpoints without a
      ``last_checkpoint`` raise :class:`ResumeError` naming the files and
      ``--resume PATH``.
    """
    record = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(record):
        return _no_last_checkpoint(work_dir)
    with open(record, encoding='utf-8') as f:
        text = f.read().strip()
    if not text:
        raise ResumeError(f'{record} is empty; resume a checkpoint explicitly '
                          'with --resume PATH.')
    if '://' in text:  # a remote out_dir: mmengine's backends read it
        return text
    if not osp.isabs(text):
        path = osp.join(work_dir, text)
        if osp.exists(path):
            return path
        raise ResumeError(
            f'{record} names {text}, which is not in {work_dir}; resume a '
            'checkpoint explicitly with --resume PATH.')
    if _inside(text, work_dir) and osp.exists(text):
        return text
    local = osp.join(work_dir, osp.basename(text))
    if osp.exists(local):
        _warn(f'{record} names {text}, outside this work dir (a copied or '
              f'moved work dir); resuming this work dir\'s {local} instead.')
        return local
    if osp.exists(text):
        _warn(f'{record} names {text}, outside the work dir {work_dir}; '
              'resuming it (a CheckpointHook out_dir). Pass --resume PATH to '
              'resume another file.')
        return text
    raise ResumeError(
        f'{record} names {text}, which does not exist (nor does {local}); '
        'resume a checkpoint explicitly with --resume PATH.')
