"""Tiny Swin V2 backbones (2-D and video) for the small-data runs.

Loaded by :func:`_helpers.small_data.load_plugin_shrinkers` for every test,
since other plugins' configs train Swin V2 too.
"""
from typing import List

from mmengine.config import ConfigDict

from _helpers.small_data import register_shrinker
from _helpers.ssl_configs import register_ssl_shrinker

TINY_ARCH = dict(embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 2))
#: output channels of the four stages of :data:`TINY_ARCH`
TINY_CHANNELS = [16, 32, 64, 128]


@register_shrinker('visrep.SwinTransformerV2')
def tiny_swin_v2(backbone: ConfigDict) -> List[int]:
    """Tiny arch, without the extra norms of the deep variants."""
    backbone.arch = dict(TINY_ARCH)
    backbone.pop('extra_norm_every_n_blocks', None)
    return list(TINY_CHANNELS)


@register_shrinker('visrep.VideoSwinTransformerV2')
def tiny_video_swin_v2(backbone: ConfigDict) -> List[int]:
    """Tiny arch without activation checkpointing."""
    backbone.arch = dict(TINY_ARCH)
    backbone.with_cp = False
    return list(TINY_CHANNELS)


@register_ssl_shrinker('visrep.SwinTransformerV2',
                       'visrep.MaskedSwinTransformerV2')
def tiny_swin_v2_encoder(backbone: ConfigDict) -> int:
    """A pre-training encoder: tiny arch, last stage's channels."""
    backbone.arch = dict(TINY_ARCH)
    return TINY_CHANNELS[-1]
