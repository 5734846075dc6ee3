"""A small PASCAL Context set in the real on-disk format.

Layout (as mmseg's ``configs/_base_/datasets/pascal_context.py`` and
``pascal_context_59.py`` read it)::

    VOCdevkit/VOC2010/JPEGImages/2008_000002.jpg
    VOCdevkit/VOC2010/SegmentationClassContext/2008_000002.png
    VOCdevkit/VOC2010/ImageSets/SegmentationContext/{train,val}.txt

Label maps hold the 60-class indices (0 = background), which
``PascalContextDataset`` reads as they are and ``PascalContextDataset59``
with ``reduce_zero_label=True`` (background ignored).  Scenes are streets
and rooms drawn by :mod:`.scenes`; ten PASCAL Context classes occur.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from .progress import progress
from .scenes import indoor_scene, relabel, street_scene, write_png

#: the 60 PASCAL Context classes in label order (checked against mmseg)
PASCAL_CONTEXT_CLASSES = (
    'background', 'aeroplane', 'bag', 'bed', 'bedclothes', 'bench',
    'bicycle', 'bird', 'boat', 'book', 'bottle', 'building', 'bus',
    'cabinet', 'car', 'cat', 'ceiling', 'chair', 'cloth', 'computer', 'cow',
    'cup', 'curtain', 'dog', 'door', 'fence', 'floor', 'flower', 'food',
    'grass', 'ground', 'horse', 'keyboard', 'light', 'motorbike', 'mountain',
    'mouse', 'person', 'plate', 'platform', 'pottedplant', 'road', 'rock',
    'sheep', 'shelves', 'sidewalk', 'sign', 'sky', 'snow', 'sofa', 'table',
    'track', 'train', 'tree', 'truck', 'tvmonitor', 'wall', 'water',
    'window', 'wood')
#: scene concept -> PASCAL Context class name (unmapped: background)
CONCEPT_CLASSES = {
    'sky': 'sky', 'building': 'building', 'road': 'road',
    'sidewalk': 'sidewalk', 'vegetation': 'tree', 'person': 'person',
    'car': 'car', 'wall': 'wall', 'floor': 'floor', 'ceiling': 'ceiling',
}
PASCAL_CONTEXT_LABELS = {
    concept: PASCAL_CONTEXT_CLASSES.index(name)
    for concept, name in CONCEPT_CLASSES.items()
}
ROOT = osp.join('VOCdevkit', 'VOC2010')


def make_pascal_context(out_root: str,
                        num_train: int = 32,
                        num_val: int = 12,
                        seed: int = 0) -> Dict[str, int]:
    """Write the set under ``out_root/VOCdevkit/VOC2010``."""
    root = osp.join(out_root, ROOT)
    img_dir = osp.join(root, 'JPEGImages')
    ann_dir = osp.join(root, 'SegmentationClassContext')
    split_dir = osp.join(root, 'ImageSets', 'SegmentationContext')
    for folder in (img_dir, ann_dir, split_dir):
        os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = {'train': num_train, 'val': num_val}
    index = 0
    for split, count in counts.items():
        names = []
        for _ in progress(range(count), f'pascal_context {split}'):
            index += 1
            name = f'2008_{index:06d}'
            height = int(rng.integers(192, 257))
            scene = street_scene if rng.random() < 0.6 else indoor_scene
            image, concepts = scene(rng, height, 256)
            labels = relabel(concepts, PASCAL_CONTEXT_LABELS, default=0)
            cv2.imwrite(osp.join(img_dir, name + '.jpg'), image,
                        [cv2.IMWRITE_JPEG_QUALITY, 92])
            write_png(osp.join(ann_dir, name + '.png'), labels)
            names.append(name)
        with open(osp.join(split_dir, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return counts
