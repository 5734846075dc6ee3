"""SimMIM's random masking: whole mask-patch cells, upsampled to the tokens."""
import math
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from visrep.registry import TRANSFORMS
from visrep.models.relpos import to_pair


@TRANSFORMS.register_module()
class SimMIMMaskGenerator(BaseTransform):
    """Adds ``results['mask']``: the official SimMIM ``MaskGenerator``.

    The image is cut into ``mask_patch_size`` cells; a random permutation
    picks **exactly** ``ceil(mask_ratio * cells)`` of them (not a Bernoulli
    draw), and each cell is repeated ``mask_patch_size / model_patch_size``
    times along both axes, giving one 0/1 entry per model token (``int``
    array of shape ``(H / model_patch_size, W / model_patch_size)``).
    Swin (192 px, cells of 32, patch 4): 36 cells, 22 masked, 48x48 tokens;
    ViT-B (224 px, patch 16): 49 cells, 30 masked, 14x14 tokens.

    Like the official code it draws from NumPy's global generator, which
    mmengine seeds per dataloader worker.  ``input_size`` may be ``(h, w)``
    (the official generator is square only).

    Args:
        input_size: image size after the crop.
        mask_patch_size: side of a masked cell, in pixels.
        model_patch_size: the backbone's patch size (pixels per token).
        mask_ratio: fraction of cells masked (rounded up).
    """

    def __init__(self, input_size: Union[int, Sequence[int]] = 192,
                 mask_patch_size: int = 32, model_patch_size: int = 4,
                 mask_ratio: float = 0.6):
        self.input_size = to_pair(input_size, 'input_size')
        if any(s % mask_patch_size for s in self.input_size):
            raise ValueError(
                f'input_size={self.input_size} is not a multiple of '
                f'mask_patch_size={mask_patch_size}: crop to a multiple.')
        if mask_patch_size % model_patch_size:
            raise ValueError(
                f'mask_patch_size={mask_patch_size} is not a multiple of '
                f'model_patch_size={model_patch_size}.')
        if not 0 <= mask_ratio <= 1:
            raise ValueError(f'mask_ratio={mask_ratio} is not in [0, 1].')
        self.mask_patch_size = mask_patch_size
        self.model_patch_size = model_patch_size
        self.mask_ratio = mask_ratio
        self.cells = tuple(s // mask_patch_size for s in self.input_size)
        self.scale = mask_patch_size // model_patch_size
        self.cell_count = self.cells[0] * self.cells[1]
        self.mask_count = int(math.ceil(self.cell_count * mask_ratio))

    def generate(self) -> np.ndarray:
        chosen = np.random.permutation(self.cell_count)[:self.mask_count]
        mask = np.zeros(self.cell_count, dtype=int)
        mask[chosen] = 1
        mask = mask.reshape(self.cells)
        return mask.repeat(self.scale, axis=0).repeat(self.scale, axis=1)

    def transform(self, results: dict) -> dict:
        results['mask'] = self.generate()
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, '
                f'mask_patch_size={self.mask_patch_size}, model_patch_size='
                f'{self.model_patch_size}, mask_ratio={self.mask_ratio})')
