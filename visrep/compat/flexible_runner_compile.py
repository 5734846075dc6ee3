"""``compile=...`` in a config run by mmengine's ``FlexibleRunner``.

A config with ``strategy`` (FSDP, DeepSpeed, DDPStrategy) runs through
``FlexibleRunner``.  Its constructor takes ``compile`` (``True`` or a
``torch.compile`` options dict, applied to ``train_step`` by the strategy's
``prepare``), but mmengine 0.10.7's ``FlexibleRunner.from_cfg`` does not
pass ``cfg.compile`` on, so the setting was silently dropped.  The patched
``from_cfg`` hands it to the runner as its constructor would.
"""
import functools


def _passing_compile(from_cfg):

    @functools.wraps(from_cfg)
    def patched(cls, cfg):
        runner = from_cfg.__func__(cls, cfg)
        compile_cfg = cfg.get('compile', False)
        if not isinstance(compile_cfg, (bool, dict)):
            raise TypeError('compile should be a bool or dict (torch.compile '
                            f'options), but got {type(compile_cfg)}')
        runner._compile = compile_cfg  # what __init__(compile=...) sets
        return runner

    patched.__visrep_patched__ = True
    return classmethod(patched)


def install() -> None:
    from mmengine.runner import FlexibleRunner
    if not getattr(FlexibleRunner.from_cfg, '__visrep_patched__', False):
        FlexibleRunner.from_cfg = _passing_compile(FlexibleRunner.from_cfg)
