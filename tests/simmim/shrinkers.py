"""Tiny SimMIM backbones for the small-data runs, loaded by
:func:`_helpers.small_data.load_plugin_shrinkers`.

A masked Swin encoder shrinks like the backbone it masks: its shrinker is
registered beside that backbone's (``tests/models``, ``tests/swin_v2``).
"""
from typing import List

from mmengine.config import ConfigDict

from _helpers.small_data import SMOKE_CROP, register_shrinker
from _helpers.ssl_configs import register_ssl_shrinker

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=2,
                feedforward_channels=64)


@register_shrinker('visrep.SimMIMViT')
def tiny_vit(backbone: ConfigDict) -> List[int]:
    """Tiny arch at the smoke crop (the relative position tables follow it)."""
    backbone.arch = dict(TINY_VIT)
    backbone.img_size = SMOKE_CROP
    return [TINY_VIT['embed_dims']]


@register_ssl_shrinker('visrep.SimMIMViT', 'visrep.MaskedSimMIMViT')
def tiny_vit_encoder(backbone: ConfigDict) -> int:
    """A pre-training encoder: tiny arch, its channels."""
    backbone.arch = dict(TINY_VIT)
    return TINY_VIT['embed_dims']
