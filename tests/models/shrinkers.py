"""Tiny versions of the core backbones (``visrep/models/``) for the
small-data runs, loaded by :func:`_helpers.small_data.load_plugin_shrinkers`.
"""
from typing import List

from mmengine.config import ConfigDict

from _helpers.small_data import SMOKE_CROP, register_shrinker
from _helpers.ssl_configs import register_ssl_shrinker

TINY_SWIN_V1 = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2])
#: output channels of the four stages of :data:`TINY_SWIN_V1`
TINY_SWIN_V1_CHANNELS = [16, 32, 64, 128]


@register_shrinker('visrep.SwinTransformerV1')
def tiny_swin_v1(backbone: ConfigDict) -> List[int]:
    """Tiny arch; a classifier's window clip follows the smoke crop."""
    backbone.arch = dict(TINY_SWIN_V1)
    if not backbone.get('pad_small_map', False):
        # classification: the official window clip follows img_size
        backbone.img_size = SMOKE_CROP
    return list(TINY_SWIN_V1_CHANNELS)


@register_ssl_shrinker('visrep.SwinTransformerV1',
                       'visrep.MaskedSwinTransformerV1')
def tiny_swin_v1_encoder(backbone: ConfigDict) -> int:
    """A pre-training encoder: tiny arch, last stage's channels."""
    backbone.arch = dict(TINY_SWIN_V1)
    return TINY_SWIN_V1_CHANNELS[-1]
