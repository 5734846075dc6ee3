"""A config's model as mmengine's Runner builds it, for analysis tools that
run a model outside a Runner (attention maps, reconstructions)."""
import torch
from mmengine.config import Config


def build_config_model(cfg: Config, default_scope: str) -> torch.nn.Module:
    """``cfg.model`` built in the config's ``default_scope`` (else
    ``default_scope``), given the top-level ``data_preprocessor`` when the
    model sets none, as mmengine's Runner does (mmpretrain configs keep the
    normalisation there)."""
    from mmengine.registry import MODELS, init_default_scope
    init_default_scope(cfg.get('default_scope', default_scope))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model_cfg)


def load_for_inference(model: torch.nn.Module, checkpoint: str,
                       device: str) -> torch.nn.Module:
    """``model`` with the checkpoint's weights, on ``device``, in eval
    mode."""
    from mmengine.runner import load_checkpoint
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()
