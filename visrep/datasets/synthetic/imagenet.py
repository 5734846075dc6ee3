"""A small ImageNet-1k subset in the real on-disk format.

Layout (as mmpretrain's ``configs/_base_/datasets/imagenet_bs32.py`` reads it)::

    imagenet/train/n01440764/n01440764_00001.JPEG ...    (a folder per class)
    imagenet/val/ILSVRC2012_val_00000001.JPEG ...        (flat, as released)
    imagenet/meta/train.txt    "n01440764/n01440764_00001.JPEG 0"
    imagenet/meta/val.txt      "ILSVRC2012_val_00000001.JPEG 0"

The classes are the first ten ImageNet-1k synsets with their official label
indices 0-9; each is drawn as its own shape in its own colour on a random
textured background.
"""
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from .canvas import PALETTE, jitter, paint_polygon, shape_polygon, texture
from .progress import progress

#: (wnid, label, shape, colour) -- the first ten synsets of ImageNet-1k
CLASSES = [
    ('n01440764', 0, 'circle', 'red'),
    ('n01443537', 1, 'triangle', 'green'),
    ('n01484850', 2, 'square', 'blue'),
    ('n01491361', 3, 'star', 'yellow'),
    ('n01494475', 4, 'cross', 'magenta'),
    ('n01496331', 5, 'hexagon', 'cyan'),
    ('n01498041', 6, 'diamond', 'orange'),
    ('n01514668', 7, 'arrow', 'purple'),
    ('n01514859', 8, 'l_shape', 'white'),
    ('n01518878', 9, 'bar', 'black'),
]


def _draw(rng: np.random.Generator, shape: str, colour: str) -> np.ndarray:
    width, height = (int(v) for v in rng.integers(80, 129, size=2))
    background = tuple(int(v) for v in rng.integers(60, 200, size=3))
    img = texture(rng, height, width, background, amplitude=35)
    radius = rng.uniform(0.28, 0.42) * min(width, height)
    centre = (rng.uniform(radius, width - radius),
              rng.uniform(radius, height - radius))
    poly = shape_polygon(shape, centre, radius, rng.uniform(-0.5, 0.5))
    paint_polygon(rng, img, poly, jitter(rng, PALETTE[colour], 25))
    return img


def make_imagenet(out_root: str,
                  num_train_per_class: int = 40,
                  num_val_per_class: int = 10,
                  seed: int = 0) -> Dict[str, int]:
    """Write the subset under ``out_root/imagenet``."""
    root = osp.join(out_root, 'imagenet')
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    os.makedirs(osp.join(root, 'val'), exist_ok=True)
    rng = np.random.default_rng(seed)
    train_lines: List[str] = []
    items = [(c, k) for c in CLASSES for k in range(num_train_per_class)]
    for (wnid, label, shape, colour), k in progress(items, 'imagenet train'):
        os.makedirs(osp.join(root, 'train', wnid), exist_ok=True)
        name = f'{wnid}/{wnid}_{k + 1:05d}.JPEG'
        cv2.imwrite(osp.join(root, 'train', name), _draw(rng, shape, colour),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        train_lines.append(f'{name} {label}')
    val_lines: List[str] = []
    val_items = [c for c in CLASSES for _ in range(num_val_per_class)]
    order = rng.permutation(len(val_items))  # the released val set is mixed
    for k, idx in enumerate(progress(order, 'imagenet val')):
        wnid, label, shape, colour = val_items[idx]
        name = f'ILSVRC2012_val_{k + 1:08d}.JPEG'
        cv2.imwrite(osp.join(root, 'val', name), _draw(rng, shape, colour),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        val_lines.append(f'{name} {label}')
    for split, lines in (('train', train_lines), ('val', val_lines)):
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return {'train': len(train_lines), 'val': len(val_lines)}
