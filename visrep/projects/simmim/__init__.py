"""SimMIM (Xie et al., CVPR 2022) as an OpenMMLab plugin.

Registers, in the ``visrep`` scope: ``SimMIM`` (the algorithm, reads
official checkpoints), ``SimMIMHead`` (official loss, optional normalised
target), ``SimMIMMaskGenerator`` (transform), the ViT pre-training encoder
``MaskedSimMIMViT`` and fine-tuning backbone ``SimMIMViT`` (official
checkpoints, geometric-progression table resize, official no-weight-decay
set and layer ids).  Its Swin encoders are registered elsewhere and built
through the registry: ``SwinTransformerV1`` / ``MaskedSwinTransformerV1``
by the core (:mod:`visrep.models`), ``MaskedSwinTransformerV2`` by the
Swin V2 plugin.  See README.md.
"""
from visrep.extras import import_available

from .checkpoint import (convert_official_simmim, plain_backbone,
                         vit_from_official)
from .head import SimMIMHead, normalize_targets
from .mask_generator import SimMIMMaskGenerator

# the algorithm and the ViTs build on mmpretrain; the table resize on SciPy
__getattr__ = import_available(globals(), __name__, {
    '.simmim': ('simmim', ['SimMIM', 'is_official_simmim']),
    '.vit': ('simmim', ['MaskedSimMIMViT', 'SimMIMViT']),
})

__all__ = [
    'MaskedSimMIMViT', 'SimMIM', 'SimMIMHead', 'SimMIMMaskGenerator',
    'SimMIMViT', 'convert_official_simmim', 'is_official_simmim',
    'normalize_targets', 'plain_backbone', 'vit_from_official'
]
