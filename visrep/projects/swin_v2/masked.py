"""The masked-input Swin V2: ``visrep.SwinTransformerV2`` plus SimMIM's mask token.

SimMIM pre-trains Swin V2 with it (``type='visrep.MaskedSwinTransformerV2'``
in the SimMIM configs, built through the registry); the mask token itself
is the core's :class:`visrep.models.MaskTokenMixin`.
"""
from typing import Set, Tuple

from mmengine.logging import print_log
from torch import nn

from visrep.checkpoint import unwrap
from visrep.models import MaskTokenMixin
from visrep.registry import MODELS
from .swin_transformer_v2 import SwinTransformerV2


@MODELS.register_module()
class MaskedSwinTransformerV2(MaskTokenMixin, SwinTransformerV2):
    """SwinV2 for SimMIM pre-training (``type='visrep.MaskedSwinTransformerV2'``).

    The official ``SwinTransformerV2ForSimMIM`` (microsoft/Swin-Transformer
    ``models/simmim.py``): after the patch embedding and its norm, masked
    tokens become ``mask_token`` (``trunc_normal(0.02)``, no weight decay,
    layer id 0); the rest is the SwinV2 backbone unchanged (visrep layout:
    official key names, ``norm3`` is the official final ``norm``).  Official SimMIM
    SwinV2 checkpoints (``encoder.*``) and plain SwinV2 checkpoints (the
    mask token then keeps its init) load through ``init_cfg``/``load_from``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._init_mask_token(self.embed_dims)

    def _init_default(self) -> None:
        super()._init_default()
        self._reset_mask_token()

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        """Strip an official release's ``encoder.`` (its ``decoder.*`` is
        the algorithm's), supply a missing ``mask_token``, then read the
        layout as :class:`SwinTransformerV2` does."""
        inner = unwrap(state_dict)
        where = prefix if prefix and any(k.startswith(prefix)
                                         for k in inner) else ''
        if not where:
            encoder = {k[len('encoder.'):]: v for k, v in inner.items()
                       if k.startswith('encoder.')}
            inner = encoder or inner
        is_swin = any(k.startswith(where + 'layers.') for k in inner)
        if is_swin and where + 'mask_token' not in inner:
            inner = dict(inner)
            inner[where + 'mask_token'] = self.mask_token.detach().clone()
            print_log('MaskedSwinTransformerV2: no mask_token in the '
                      'checkpoint, it keeps its initial value',
                      logger='current')
        if inner is not unwrap(state_dict):
            state_dict = inner
        return super().adapt_state_dict(state_dict, prefix, model)

    def no_weight_decay(self) -> Set[str]:
        return super().no_weight_decay() | {'mask_token'}

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        if param_name == prefix + 'mask_token':
            return 0, sum(self.depths) + 2
        return super().get_layer_depth(param_name, prefix)
