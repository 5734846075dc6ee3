"""Auto-resume reads ``last_checkpoint`` relative to the work dir, and refuses to guess.

mmengine 0.10.7's ``CheckpointHook`` writes the absolute path of the newest
checkpoint into ``<work_dir>/last_checkpoint``; ``find_latest_checkpoint``
returns that text as it is, or None when the file is missing -- and the
runner then trains from scratch, overwriting the checkpoints the work dir
holds.  Both ends are replaced by :mod:`visrep.checkpoint.last_checkpoint`:
the hook's record is rewritten relative to the work dir (atomically) after
each save, and ``find_latest_checkpoint`` (as ``Runner`` and
``FlexibleRunner`` call it) resolves it, raising ``ResumeError`` instead of
guessing.
"""
import functools


def install() -> None:
    from mmengine.dist import is_main_process
    from mmengine.hooks import CheckpointHook
    from mmengine.runner import _flexible_runner, checkpoint, runner

    from visrep.checkpoint.last_checkpoint import (resolve_last_checkpoint,
                                                   write_last_checkpoint)
    for module in (checkpoint, runner, _flexible_runner):
        module.find_latest_checkpoint = resolve_last_checkpoint

    original = CheckpointHook._save_checkpoint_with_step
    if getattr(original, '__visrep_patched__', False):
        return

    @functools.wraps(original)
    def save_with_relative_record(self, runner, step, meta):
        original(self, runner, step, meta)
        if is_main_process() and '://' not in str(self.last_ckpt):
            write_last_checkpoint(runner.work_dir, self.last_ckpt)

    save_with_relative_record.__visrep_patched__ = True
    CheckpointHook._save_checkpoint_with_step = save_with_relative_record
