"""mmengine's ``load_state_dict`` runs the models' checkpoint adapters first.

Every checkpoint mmengine loads into a model (``load_from``, ``--resume``,
``init_cfg=dict(type='Pretrained')``, the EMA hook) goes through
``mmengine.runner.checkpoint.load_state_dict`` with ``strict=False``, which
gives a module no chance to rename keys outside its prefix.  The one
function is wrapped so that the model's ``adapt_state_dict`` methods
(:mod:`visrep.checkpoint.adapters`) see the state dict first; a model with
none loads exactly as before.
"""
import functools


def install() -> None:
    """Wrap ``mmengine.runner.checkpoint.load_state_dict`` (idempotent)."""
    from mmengine.runner import checkpoint as mmengine_checkpoint

    from visrep.checkpoint.adapters import adapt_state_dict
    original = mmengine_checkpoint.load_state_dict
    if getattr(original, '__visrep_patched__', False):
        return

    @functools.wraps(original)
    def load_state_dict(module, state_dict, strict=False, logger=None):
        return original(module, adapt_state_dict(module, state_dict), strict,
                        logger)

    load_state_dict.__visrep_patched__ = True
    mmengine_checkpoint.load_state_dict = load_state_dict
