"""Swin Transformer V2 (Liu et al., CVPR 2022) as an OpenMMLab plugin.

Registers ``visrep.SwinTransformerV2`` (backbone for mmpretrain, mmdet,
mmseg), ``visrep.MaskedSwinTransformerV2`` (its masked-input variant, the
SimMIM encoder) and ``visrep.VideoSwinTransformerV2`` (its 3-D version for
mmaction2), and the FSDP auto-wrap policy ``visrep.swin_v2_block_wrap_policy``
(one unit per block).  See README.md.
"""
from .attention import WindowAttentionV2
from .block import SwinV2Block
from .checkpoint import (load_pretrained, map_head_22k_to_1k,
                         split_swin_v2_checkpoint)
from .fsdp_wrap import swin_v2_block_wrap_policy
from .inflate import inflate_2d_state_dict
from .masked import MaskedSwinTransformerV2
from .patch_merging import PatchMergingV2
from .swin_transformer_v2 import ARCH_ZOO, SwinTransformerV2
from .video_swin_transformer_v2 import VideoSwinTransformerV2

__all__ = ['ARCH_ZOO', 'MaskedSwinTransformerV2', 'PatchMergingV2',
           'SwinTransformerV2', 'SwinV2Block', 'VideoSwinTransformerV2',
           'WindowAttentionV2', 'inflate_2d_state_dict', 'load_pretrained',
           'map_head_22k_to_1k', 'split_swin_v2_checkpoint',
           'swin_v2_block_wrap_policy']
