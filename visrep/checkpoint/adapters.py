"""The ``adapt_state_dict`` protocol: modules that read foreign checkpoints.

mmengine hands a checkpoint's state dict to the model root (``load_from``,
``--resume``, ``init_cfg=dict(type='Pretrained')``, the EMA hook) with
``strict=False``: a module cannot rename keys outside its own prefix, and
mismatches are only logged.  Any submodule that defines::

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict

is called first (:func:`adapt_state_dict`, hooked into mmengine's loader by
:mod:`visrep.compat.load_state_dict_adapters`), with the whole state dict,
its own prefix in the model (e.g. ``'backbone.'``) and the model being
loaded.  It may convert a foreign layout (an official release, timm,
mmpretrain, a self-supervised wrapper) to the visrep layout
(:mod:`.layout`), move keys under its prefix, and raise on keys that cannot
match -- and must return the state dict unchanged when it is already in the
visrep layout (resume stays exact).

A backbone class may also offer :data:`CONVERTER`, a static method turning a
bare checkpoint of its family into visrep-layout keys, so that another
plugin can convert such a file through the registry without importing the
backbone's plugin.
"""
from typing import Dict

from torch import nn

#: the method a module defines to read foreign checkpoints (see above)
ADAPTER = 'adapt_state_dict'
#: ``convert_checkpoint(state_dict) -> state_dict``: a backbone class's
#: static method converting a bare checkpoint of its family to the visrep
#: layout, a classifier head under ``head.``
CONVERTER = 'convert_checkpoint'


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
