"""SimMIM (Xie et al., CVPR 2022) as an OpenMMLab plugin.

Registers, in the ``visrep`` scope: ``SimMIM`` (the algorithm, reads
official checkpoints), ``SimMIMHead`` (official loss, optional normalised
target), ``SimMIMMaskGenerator`` (transform), the pre-training encoders
``MaskedSwinTransformerV1`` / ``MaskedSwinTransformerV2`` /
``MaskedSimMIMViT`` and the fine-tuning backbones ``SwinTransformerV1`` /
``SimMIMViT`` (official checkpoints, geometric-progression table resize,
official no-weight-decay set and layer ids).  See README.md.
"""
from .checkpoint import (find_backbone, fit_tables, swin_v1_from_official,
                         vit_from_official)
from .head import SimMIMHead, normalize_targets
from .mask_generator import SimMIMMaskGenerator
from .masking import MaskTokenMixin, blend_mask_token
from .relpos import cubic_spline_weights, geometric_offsets, resize_table
from .simmim import SimMIM, is_official_simmim
from .swin_v1 import MaskedSwinTransformerV1, SwinTransformerV1
from .swin_v2 import MaskedSwinTransformerV2
from .vit import MaskedSimMIMViT, SimMIMViT

__all__ = [
    'MaskTokenMixin', 'MaskedSimMIMViT', 'MaskedSwinTransformerV1',
    'MaskedSwinTransformerV2', 'SimMIM', 'SimMIMHead', 'SimMIMMaskGenerator',
    'SimMIMViT', 'SwinTransformerV1', 'blend_mask_token',
    'cubic_spline_weights', 'find_backbone', 'fit_tables',
    'geometric_offsets', 'is_official_simmim', 'normalize_targets',
    'resize_table', 'swin_v1_from_official', 'vit_from_official'
]
