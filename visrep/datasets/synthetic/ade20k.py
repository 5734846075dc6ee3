"""A small ADE20K (SceneParsing, 150 classes) set in the real on-disk format.

Layout (as mmseg's ``configs/_base_/datasets/ade20k.py`` reads it)::

    ade/ADEChallengeData2016/images/training/ADE_train_00000001.jpg
    ade/ADEChallengeData2016/annotations/training/ADE_train_00000001.png
    ade/ADEChallengeData2016/images/validation/ADE_val_00000001.jpg
    ade/ADEChallengeData2016/annotations/validation/ADE_val_00000001.png

Label maps hold 0 for "other" and 1..150 for the classes, the convention
``reduce_zero_label=True`` expects.  Scenes are streets and rooms drawn by
:mod:`.scenes`; ten ADE classes occur.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from .progress import progress
from .scenes import indoor_scene, relabel, street_scene, write_png

#: concept -> ADE20K label (1-based index into the 150 classes)
ADE20K_LABELS = {
    'wall': 1, 'building': 2, 'sky': 3, 'floor': 4, 'vegetation': 5,
    'ceiling': 6, 'road': 7, 'sidewalk': 12, 'person': 13, 'car': 21,
    'pole': 94,
}
#: the ADE20K class names of those labels (checked against mmseg in tests)
ADE20K_NAMES = {
    1: 'wall', 2: 'building', 3: 'sky', 4: 'floor', 5: 'tree', 6: 'ceiling',
    7: 'road', 12: 'sidewalk', 13: 'person', 21: 'car', 94: 'pole',
}
SPLITS = {'train': ('training', 'ADE_train'), 'val': ('validation', 'ADE_val')}


def make_ade20k(out_root: str,
                num_train: int = 40,
                num_val: int = 16,
                seed: int = 0) -> Dict[str, int]:
    """Write the set under ``out_root/ade/ADEChallengeData2016``."""
    root = osp.join(out_root, 'ade', 'ADEChallengeData2016')
    rng = np.random.default_rng(seed)
    counts = {'train': num_train, 'val': num_val}
    for split, (folder, stem) in SPLITS.items():
        img_dir = osp.join(root, 'images', folder)
        ann_dir = osp.join(root, 'annotations', folder)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for k in progress(range(counts[split]), f'ade20k {split}'):
            width = 256
            height = int(rng.integers(192, 257))
            scene = street_scene if rng.random() < 0.6 else indoor_scene
            image, concepts = scene(rng, height, width)
            labels = relabel(concepts, ADE20K_LABELS, default=0)
            name = f'{stem}_{k + 1:08d}'
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), image,
                        [cv2.IMWRITE_JPEG_QUALITY, 92])
            write_png(osp.join(ann_dir, name + '.png'), labels)
    return counts
