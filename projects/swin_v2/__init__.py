"""Swin Transformer V2 (Liu et al., CVPR 2022) as an OpenMMLab plugin.

Registers ``visrep.SwinTransformerV2`` (backbone for mmpretrain, mmdet,
mmseg) and ``visrep.VideoSwinTransformerV2`` (its 3-D version for
mmaction2).  See README.md.
"""
from .attention import WindowAttentionV2
from .block import SwinV2Block
from .checkpoint import (CheckpointMismatchError, checkpoint_filter_fn,
                         load_pretrained, map_head_22k_to_1k)
from .patch_merging import PatchMergingV2
from .inflate import inflate_2d_state_dict
from .swin_transformer_v2 import ARCH_ZOO, SwinTransformerV2
from .video_swin_transformer_v2 import VideoSwinTransformerV2

__all__ = ['ARCH_ZOO', 'CheckpointMismatchError', 'PatchMergingV2',
           'SwinTransformerV2', 'SwinV2Block', 'VideoSwinTransformerV2',
           'WindowAttentionV2', 'checkpoint_filter_fn',
           'inflate_2d_state_dict', 'load_pretrained', 'map_head_22k_to_1k']
