"""SimMIM's ViT: BEiT-style blocks on mmpretrain's ``BEiTViT``, official behaviour.

The official SimMIM ViT-B (``models/vision_transformer.py``, from BEiT):
``q_bias``/``v_bias`` with a zero k bias, layer scale (``gamma_1/2``, init
0.1), LayerNorm eps 1e-6, no absolute position embedding, a relative
position bias **shared** by all blocks during pre-training and copied into
every block for fine-tuning, a final ``norm`` in pre-training and
mean-pooling + ``fc_norm`` in fine-tuning.  mmpretrain's ``BEiTViT``
computes the same blocks; ``visrep.SimMIMViT`` fixes what differs:

* mmpretrain applies drop path **twice** to the MLP branch (the FFN's own
  ``dropout_layer`` and the block's ``drop_path``); here once, as
  officially;
* the official initialisation: ``trunc_normal(0.02)`` on Linear/Conv
  weights, the CLS (and mask) token, zero position-bias tables, and the
  ``fix_init_weight`` rescale of ``attn.proj`` and ``fc2`` by
  ``1/sqrt(2 * layer)`` (mmpretrain leaves PyTorch's init);
* official checkpoints (``blocks.{i}``, ``mlp.fc1``, ``norm``/``fc_norm``)
  load through ``init_cfg``/``load_from``; a shared table is copied into
  every block and tables are resized by the geometric-progression bicubic
  interpolation (mmpretrain's loader calls the removed ``interp2d``);
* the official no-weight-decay set (1-D, biases, ``pos_embed``,
  ``cls_token``) and layer ids (``get_vit_layer``).

``visrep.MaskedSimMIMViT`` is the pre-training encoder (mask token).
"""
import math
from typing import Optional, Set, Tuple

from mmengine.logging import print_log
from mmpretrain.models.backbones import BEiTViT
from torch import nn

from visrep.checkpoint import adapt_backbone_state_dict
from visrep.models import (MaskTokenMixin, fit_tables, init_official_weights,
                           official_trunc_normal_)
from visrep.models.official_init import DEFAULT_BOUND
from visrep.registry import MODELS
from .checkpoint import VIT_OFFICIAL, VIT_VISREP, vit_from_official

SHARED_TABLE = 'rel_pos_bias.relative_position_bias_table'
NUM_EXTRA_TOKENS = 3  # cls->token, token->cls, cls->cls


@MODELS.register_module()
class SimMIMViT(BEiTViT):
    """The official SimMIM ViT (``type='visrep.SimMIMViT'``), fine-tuning form.

    Defaults are the official ViT-B fine-tuning model: per-block relative
    position bias, mean pooling + ``fc_norm`` (``out_type='avg_featmap'``),
    drop path 0.1, layer scale 0.1.  Other ``BEiTViT`` arguments pass
    through.

    Args:
        trunc_bound: truncation of the ``trunc_normal(0.02)`` init: ``None``
            = +-2 (official ``VisionTransformer``), a float = +-that (the
            pre-training encoder truncates at +-std).
    """

    def __init__(self, arch='base', img_size=224, patch_size=16,
                 drop_path_rate: float = 0.1,
                 layer_scale_init_value: float = 0.1,
                 use_rel_pos_bias: bool = True,
                 use_shared_rel_pos_bias: bool = False,
                 final_norm: bool = False, out_type: str = 'avg_featmap',
                 trunc_bound: Optional[float] = None, **kwargs):
        layer_cfgs = kwargs.pop('layer_cfgs', dict())
        if not isinstance(layer_cfgs, dict):
            raise ValueError('layer_cfgs: give one dict for all layers.')
        ffn_cfg = dict(add_identity=False, dropout_layer=None)
        ffn_cfg.update(layer_cfgs.get('ffn_cfg', {}))
        layer_cfgs = dict(layer_cfgs, ffn_cfg=ffn_cfg)
        kwargs.setdefault('norm_cfg', dict(type='LN', eps=1e-6))
        kwargs.setdefault('use_abs_pos_emb', False)
        super().__init__(
            arch=arch, img_size=img_size, patch_size=patch_size,
            drop_path_rate=drop_path_rate, bias='qv_bias',
            layer_scale_init_value=layer_scale_init_value,
            use_rel_pos_bias=use_rel_pos_bias,
            use_shared_rel_pos_bias=use_shared_rel_pos_bias,
            final_norm=final_norm, out_type=out_type, layer_cfgs=layer_cfgs,
            **kwargs)
        self.trunc_bound = trunc_bound

    # ---------------------------------------------------------------- init
    def init_weights(self) -> None:
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        bound = DEFAULT_BOUND if self.trunc_bound is None else \
            self.trunc_bound
        if self.pos_embed is not None:
            official_trunc_normal_(self.pos_embed, bound)
        if self.cls_token is not None:
            official_trunc_normal_(self.cls_token, bound)
        init_official_weights(self, (nn.Linear, nn.Conv2d), bound)
        for name, param in self.named_parameters():
            if name.endswith('relative_position_bias_table'):
                nn.init.zeros_(param)
        for i, layer in enumerate(self.layers):  # official fix_init_weight
            layer.attn.proj.weight.data.div_(math.sqrt(2.0 * (i + 1)))
            layer.ffn.layers[1].weight.data.div_(math.sqrt(2.0 * (i + 1)))

    def train(self, mode: bool = True):
        super().train(mode)
        return self  # mmpretrain's train() returns None, breaking .eval()

    # ---------------------------------------------------------------- ckpt
    def fit_checkpoint(self, state_dict: dict) -> dict:
        """Visrep-layout keys made to fit: a shared table copied into every
        block (official fine-tuning), tables resized, derived buffers and
        SSL-only keys handled."""
        if self.use_rel_pos_bias and SHARED_TABLE in state_dict:
            shared = state_dict[SHARED_TABLE]
            state_dict = {k: v for k, v in state_dict.items()
                          if not k.startswith('rel_pos_bias.')}
            for i in range(self.num_layers):
                state_dict[f'layers.{i}.attn.relative_position_bias_table'] = \
                    shared.clone()
            print_log('shared relative position bias copied into every block',
                      logger='current')
        own = self.state_dict()
        if 'ln1.weight' in state_dict and 'ln1.weight' not in own and \
                'ln2.weight' in own and 'ln2.weight' not in state_dict:
            # pre-training's final norm -> fine-tuning's fc_norm: the
            # official loader (strict=False) drops one, the other starts fresh
            state_dict = {k: v for k, v in state_dict.items()
                          if not k.startswith('ln1.')}
            state_dict['ln2.weight'] = own['ln2.weight']
            state_dict['ln2.bias'] = own['ln2.bias']
            print_log('final norm of the pre-training encoder dropped, '
                      'fc_norm (ln2) starts fresh, as officially',
                      logger='current')
        return fit_tables(own, state_dict, NUM_EXTRA_TOKENS)

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        """Read official SimMIM ViT / visrep checkpoints in ``load_from``
        and ``init_cfg=Pretrained``."""
        return adapt_backbone_state_dict(
            self, state_dict, prefix, VIT_VISREP, VIT_OFFICIAL,
            vit_from_official, self.fit_checkpoint)

    def _prepare_relative_position_bias_table(self, state_dict, prefix, *args,
                                              **kwargs):
        """Load pre-hook (replaces mmpretrain's, which calls ``interp2d``)."""
        sub = {k[len(prefix):]: v for k, v in state_dict.items()
               if k.startswith(prefix)}
        fitted = self.fit_checkpoint(sub)
        if fitted is not sub:
            for key in [k for k in state_dict if k.startswith(prefix)]:
                del state_dict[key]
            state_dict.update({prefix + k: v for k, v in fitted.items()})

    # ---------------------------------------------------------------- optim
    def no_weight_decay(self) -> Set[str]:
        """Official: 1-D parameters, biases, ``pos_embed``, ``cls_token``."""
        return {
            name for name, param in self.named_parameters()
            if param.ndim <= 1 or name.endswith('.bias')
            or name in ('pos_embed', 'cls_token')
        }

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Official ``get_vit_layer``: tokens and patch embedding 0, block
        ``i`` ``i + 1``, the shared table and the rest the last layer."""
        if param_name == prefix + 'mask_token':
            return 0, self.num_layers + 2
        return super().get_layer_depth(param_name, prefix)


@MODELS.register_module()
class MaskedSimMIMViT(MaskTokenMixin, SimMIMViT):
    """SimMIM ViT pre-training encoder (``type='visrep.MaskedSimMIMViT'``).

    Official ``VisionTransformerForSimMIM``: shared relative position bias,
    final norm, mask token after the patch embedding (before the CLS token),
    output the patch tokens ``(B, C, H/16, W/16)``; init truncated at +-std.
    """

    def __init__(self, *args, use_rel_pos_bias: bool = False,
                 use_shared_rel_pos_bias: bool = True,
                 final_norm: bool = True, out_type: str = 'featmap',
                 trunc_bound: Optional[float] = 0.02, **kwargs):
        super().__init__(*args, use_rel_pos_bias=use_rel_pos_bias,
                         use_shared_rel_pos_bias=use_shared_rel_pos_bias,
                         final_norm=final_norm, out_type=out_type,
                         trunc_bound=trunc_bound, **kwargs)
        self._init_mask_token(self.embed_dims, mask_token_trunc=trunc_bound)

    def init_weights(self) -> None:
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            self._reset_mask_token()
