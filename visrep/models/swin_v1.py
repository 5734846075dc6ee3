"""Swin Transformer V1: mmpretrain's backbone with the official extras.

Shared by SimMIM (fine-tuning, and with the mask token pre-training) and
MoBY (pre-training, linear evaluation, transfer).  ``visrep.SwinTransformerV1``
is mmpretrain's ``SwinTransformer`` (same key layout as mmdet's and mmseg's
Swin, so it works in all three toolkits) plus what the official SimMIM /
MoBY code does around it:

* reads official Swin releases and SimMIM / MoBY pre-training checkpoints
  (``encoder.`` prefix, official key names, concat-order patch merging)
  wherever mmengine loads weights, with a key-by-key check;
* resizes relative-position tables by the official geometric-progression
  bicubic interpolation (no SciPy ``interp2d``, which mmpretrain's loader
  still calls);
* the official no-weight-decay set and layer ids (``get_swin_layer``);
* the official initialisation (:mod:`.official_init`);
* ``frozen_weights``: all parameters frozen while the modules stay in
  training mode -- MoBY's linear evaluation trains only the head and keeps
  the backbone's drop path active.

``visrep.MaskedSwinTransformerV1`` adds SimMIM's mask token.
"""
from typing import Set, Tuple

from torch import nn

from visrep.extras import requires_extra

with requires_extra('cls', 'visrep.SwinTransformerV1'):
    from mmpretrain.models.backbones import SwinTransformer

from visrep.checkpoint import (SWIN_V1_OFFICIAL, SWIN_V1_VISREP,
                               adapt_backbone_state_dict,
                               swin_v1_from_official)
from visrep.registry import MODELS
from .fit_tables import fit_tables
from .masking import MaskTokenMixin
from .official_init import init_official_weights

#: official ``no_weight_decay`` / ``no_weight_decay_keywords`` of Swin V1
NO_WEIGHT_DECAY = ('absolute_pos_embed', 'mask_token')
NO_WEIGHT_DECAY_KEYWORDS = ('relative_position_bias_table', )


def official_stage_windows(img_size=224, patch_size=4, window_size=7,
                           stage_cfgs=None, pad_small_map=False,
                           arch='tiny', **unused):
    """Per-stage ``stage_cfgs`` with the official window clip.

    The official Swin builds a stage whose map is not larger than the
    window with ``window = min(resolution)`` and no shift, so its
    position-bias table is smaller (Swin-L at 192 px / w12: the last stage
    runs 6x6 windows with 11x11 tables).  mmpretrain refuses such maps unless
    ``pad_small_map=True`` (which pads instead, as detection and
    segmentation do); for classification (``pad_small_map=False``) the
    window of those stages is set here from ``img_size``.
    """
    stage_cfgs = stage_cfgs if stage_cfgs is not None else dict()
    if pad_small_map:
        return stage_cfgs
    depths = arch['depths'] if isinstance(arch, dict) else \
        SwinTransformer.arch_zoo[str(arch).lower()]['depths']
    per_stage = [dict(cfg) for cfg in stage_cfgs] if isinstance(
        stage_cfgs, (list, tuple)) else [dict(stage_cfgs)
                                         for _ in depths]
    size = (img_size if isinstance(img_size, int) else min(img_size))
    resolution = size // patch_size
    for cfg in per_stage:
        blocks = cfg.get('block_cfgs', {})
        window = blocks.get('window_size', cfg.get('window_size', window_size))
        if resolution <= window:
            cfg['window_size'] = resolution
            if 'window_size' in blocks:
                cfg['block_cfgs'] = dict(blocks, window_size=resolution)
        resolution //= 2
    return per_stage


@MODELS.register_module()
class SwinTransformerV1(SwinTransformer):
    """mmpretrain's Swin Transformer with official checkpoints, init and
    optimiser groups (``type='visrep.SwinTransformerV1'``).

    Stages whose map (from ``img_size``) is not larger than the window get
    the official window clip (:func:`official_stage_windows`) unless
    ``pad_small_map=True``.

    Args (keywords only; besides mmpretrain ``SwinTransformer``'s):
        frozen_weights: freeze every parameter but keep training mode
            (drop path stays active): the official MoBY linear evaluation.
    """

    def __init__(self, frozen_weights: bool = False, **kwargs):
        kwargs['stage_cfgs'] = official_stage_windows(**kwargs)
        super().__init__(**kwargs)
        self.frozen_weights = frozen_weights
        if frozen_weights:
            self.requires_grad_(False)

    def init_weights(self) -> None:
        super().init_weights()
        if isinstance(self.init_cfg, dict) and \
                self.init_cfg.get('type') == 'Pretrained':
            return
        init_official_weights(self)

    def train(self, mode: bool = True):
        super().train(mode)
        return self  # mmpretrain's train() returns None, breaking .eval()

    # ----------------------------------------------------------- checkpoints
    def fit_checkpoint(self, state_dict: dict) -> dict:
        """Visrep-layout backbone keys made to fit this model (tables
        resized, derived buffers refreshed, SSL-only keys dropped)."""
        return fit_tables(self.state_dict(), state_dict)

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        """Read official / SimMIM / MoBY / visrep checkpoints in
        ``load_from`` and ``init_cfg=Pretrained``
        (:func:`visrep.checkpoint.adapt_backbone_state_dict`)."""
        return adapt_backbone_state_dict(
            self, state_dict, prefix, SWIN_V1_VISREP, SWIN_V1_OFFICIAL,
            swin_v1_from_official, self.fit_checkpoint)

    def _prepare_relative_position_bias_table(self, state_dict, prefix, *args,
                                              **kwargs):
        """Load pre-hook: geometric-progression resize (mmpretrain's hook
        calls the removed ``scipy.interpolate.interp2d``)."""
        own = {k: v for k, v in self.state_dict().items()
               if k.endswith('relative_position_bias_table')}
        sub = {k[len(prefix):]: v for k, v in state_dict.items()
               if k.startswith(prefix) and
               k.endswith('relative_position_bias_table')}
        for key, value in fit_tables(own, sub).items():
            state_dict[prefix + key] = value

    # ----------------------------------------------------------- optimiser
    def no_weight_decay(self) -> Set[str]:
        """The official set: 1-D parameters, biases, ``absolute_pos_embed``,
        ``mask_token`` and every ``relative_position_bias_table``."""
        return {
            name for name, param in self.named_parameters()
            if param.ndim <= 1 or name.endswith('.bias')
            or name in NO_WEIGHT_DECAY
            or any(k in name for k in NO_WEIGHT_DECAY_KEYWORDS)
        }

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Official ``get_swin_layer``: patch embedding and mask token 0,
        block ``k`` (over all stages) ``k + 1``, a stage's patch merging its
        last block's id, everything else the last layer."""
        if param_name == prefix + 'mask_token':
            return 0, sum(self.depths) + 2
        return super().get_layer_depth(param_name, prefix)


@MODELS.register_module()
class MaskedSwinTransformerV1(MaskTokenMixin, SwinTransformerV1):
    """Swin V1 encoder of SimMIM (``type='visrep.MaskedSwinTransformerV1'``).

    ``forward(x, mask)`` replaces the masked patch tokens by ``mask_token``
    after the patch embedding and norm (official
    ``SwinTransformerForSimMIM``); without a mask it is the plain backbone.
    Output: the final-normalised last stage, ``(B, C, H/32, W/32)``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._init_mask_token(self.embed_dims)

    def init_weights(self) -> None:
        super().init_weights()
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            self._reset_mask_token()
