"""A small Cityscapes (gtFine) set in the real on-disk format.

Layout (as mmseg's ``configs/_base_/datasets/cityscapes.py`` reads it)::

    cityscapes/leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png
    cityscapes/gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png
    cityscapes/gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png
    cityscapes/leftImg8bit/val/frankfurt/...

``labelTrainIds`` hold the 19 training ids and 255 for ignored pixels (what
mmseg trains on); ``labelIds`` hold the 34 official ids.  Street scenes are
drawn by :mod:`.scenes` at 512x256 (the official 2048x1024 aspect ratio).
"""
import os
import os.path as osp
from typing import Dict

import numpy as np

from .progress import progress
from .scenes import relabel, street_scene, write_png

#: concept -> (trainId, labelId)
CITYSCAPES_LABELS = {
    'road': (0, 7), 'sidewalk': (1, 8), 'building': (2, 11), 'pole': (5, 17),
    'vegetation': (8, 21), 'sky': (10, 23), 'person': (11, 24),
    'car': (13, 26),
}
#: trainId -> Cityscapes class name (checked against mmseg in tests)
CITYSCAPES_NAMES = {0: 'road', 1: 'sidewalk', 2: 'building', 5: 'pole',
                    8: 'vegetation', 10: 'sky', 11: 'person', 13: 'car'}
CITIES = {'train': ('aachen', 'bremen'), 'val': ('frankfurt', )}
IGNORE_TRAIN_ID = 255
UNLABELED_ID = 0


def make_cityscapes(out_root: str,
                    num_train: int = 24,
                    num_val: int = 8,
                    seed: int = 0,
                    width: int = 512,
                    height: int = 256) -> Dict[str, int]:
    """Write the set under ``out_root/cityscapes``."""
    root = osp.join(out_root, 'cityscapes')
    rng = np.random.default_rng(seed)
    train_ids = {k: v[0] for k, v in CITYSCAPES_LABELS.items()}
    label_ids = {k: v[1] for k, v in CITYSCAPES_LABELS.items()}
    counts = {'train': num_train, 'val': num_val}
    for split, cities in CITIES.items():
        for k in progress(range(counts[split]), f'cityscapes {split}'):
            city = cities[k % len(cities)]
            img_dir = osp.join(root, 'leftImg8bit', split, city)
            gt_dir = osp.join(root, 'gtFine', split, city)
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(gt_dir, exist_ok=True)
            stem = f'{city}_{k // len(cities):06d}_{19 + k:06d}'
            image, concepts = street_scene(rng, height, width)
            write_png(osp.join(img_dir, stem + '_leftImg8bit.png'), image)
            write_png(osp.join(gt_dir, stem + '_gtFine_labelTrainIds.png'),
                      relabel(concepts, train_ids, IGNORE_TRAIN_ID))
            write_png(osp.join(gt_dir, stem + '_gtFine_labelIds.png'),
                      relabel(concepts, label_ids, UNLABELED_ID))
    return counts
