"""The test-metrics json of a distributed ``tools/test.py`` run, written once.

mmengine 0.10.7's ``LoggerHook.after_test_epoch`` dumps the test metrics to
``<log_dir>/<timestamp>.json`` in every process, and all processes share
that path (the timestamp is broadcast), so two ranks truncate and write the
same file at once; a shorter record written over a longer one leaves the
longer one's tail behind (e.g. ``{...}}``, unreadable json, in
``tools/dist_test.sh`` with 2 processes).  The metrics are already
all-reduced, so the main process alone writes the file; every process still
logs the line as before.
"""
import functools


def _main_process_writes(after_test_epoch):

    @functools.wraps(after_test_epoch)
    def patched(self, runner, metrics=None):
        from mmengine import dist
        if dist.is_main_process():
            return after_test_epoch(self, runner, metrics)
        _, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)

    patched.__visrep_patched__ = True
    return patched


def install() -> None:
    from mmengine.hooks import LoggerHook
    if not getattr(LoggerHook.after_test_epoch, '__visrep_patched__', False):
        LoggerHook.after_test_epoch = _main_process_writes(
            LoggerHook.after_test_epoch)
