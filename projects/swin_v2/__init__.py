"""Swin Transformer V2 (Liu et al., CVPR 2022) as an OpenMMLab plugin.

Registers ``visrep.SwinTransformerV2`` (backbone for mmpretrain, mmdet,
mmseg) and its optimizer-wrapper constructor.  See README.md.
"""
from .attention import WindowAttentionV2
from .block import SwinV2Block
from .checkpoint import (CheckpointMismatchError, checkpoint_filter_fn,
                         load_pretrained, map_head_22k_to_1k)
from .patch_merging import PatchMergingV2
from .swin_transformer_v2 import ARCH_ZOO, SwinTransformerV2

__all__ = ['ARCH_ZOO', 'CheckpointMismatchError', 'PatchMergingV2',
           'SwinTransformerV2', 'SwinV2Block', 'WindowAttentionV2',
           'checkpoint_filter_fn', 'load_pretrained', 'map_head_22k_to_1k']
