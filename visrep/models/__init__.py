"""Models shared by several plugins: backbones and initialisations.

* :mod:`.swin_v1` -- ``visrep.SwinTransformerV1`` and
  ``visrep.MaskedSwinTransformerV1`` (SimMIM and MoBY);
* :mod:`.official_init` -- the official Swin / ViT weight initialisation;
* :mod:`.relpos`, :mod:`.fit_tables` -- relative-position tables resized by
  the official geometric-progression interpolation, checkpoints fitted to a
  model's windows;
* :mod:`.masking` -- SimMIM's mask token for any backbone.

The package itself imports no toolkit: :mod:`.swin_v1` (built on
mmpretrain's Swin) is imported on its own, by the registry when a config asks
for one of its names (``registered.txt``) or by ``from visrep.models.swin_v1
import ...``.
"""
from .fit_tables import fit_tables
from .masking import MaskTokenMixin, blend_mask_token
from .official_init import init_official_weights, official_trunc_normal_
from .relpos import (cubic_spline_weights, geometric_offsets, resize_table,
                     table_side)

__all__ = [
    'MaskTokenMixin', 'blend_mask_token', 'cubic_spline_weights', 'fit_tables',
    'geometric_offsets', 'init_official_weights', 'official_trunc_normal_',
    'resize_table', 'table_side'
]
