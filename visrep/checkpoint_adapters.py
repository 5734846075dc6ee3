"""Let our modules read foreign checkpoints wherever mmengine loads one.

mmengine hands a checkpoint's state dict to the model root (``load_from``,
``--resume``, ``init_cfg=dict(type='Pretrained')``, the EMA hook) through
``mmengine.runner.checkpoint.load_state_dict`` with ``strict=False``: a
module cannot rename keys outside its own prefix, and mismatches are only
logged.  Any submodule that defines::

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict

is called first, with the whole state dict, its own prefix in the model
(e.g. ``'backbone.'``) and the model being loaded.  It may convert a foreign layout (an official
release, timm, mmpretrain, a self-supervised wrapper), move keys under its
prefix, and raise on keys that cannot match -- and must return the state dict
unchanged when it is already in our layout (resume stays exact).  The patch
wraps the one function, installed once on ``import visrep``.
"""
import functools
from typing import Dict

from torch import nn

ADAPTER = 'adapt_state_dict'


def adapt_state_dict(model: nn.Module, state_dict: Dict) -> Dict:
    """Run every submodule's ``adapt_state_dict`` (outermost first)."""
    from mmengine.model import is_model_wrapper
    if is_model_wrapper(model):
        model = model.module
    for name, module in model.named_modules():
        adapter = getattr(module, ADAPTER, None)
        if callable(adapter):
            state_dict = adapter(state_dict, prefix=f'{name}.' if name else '',
                                 model=model)
    return state_dict


def install() -> None:
    from mmengine.runner import checkpoint as mmengine_checkpoint
    original = mmengine_checkpoint.load_state_dict
    if getattr(original, '__visrep_patched__', False):
        return

    @functools.wraps(original)
    def load_state_dict(module, state_dict, strict=False, logger=None):
        return original(module, adapt_state_dict(module, state_dict), strict,
                        logger)

    load_state_dict.__visrep_patched__ = True
    mmengine_checkpoint.load_state_dict = load_state_dict
