"""A small COCO-2017 instance-segmentation set in the real on-disk format.

Layout (as mmdet's ``configs/_base_/datasets/coco_instance.py`` reads it)::

    coco/annotations/instances_train2017.json
    coco/annotations/instances_val2017.json
    coco/train2017/000000000001.jpg ...
    coco/val2017/000000100001.jpg ...

The JSON lists all 80 COCO categories with their official ids; the images
hold 1-3 non-overlapping objects of four of them, each drawn as a fixed shape
in a fixed colour (so a detector can learn them), with polygon masks that are
exactly the drawn pixels and boxes that are the polygons' extents.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from .canvas import (PALETTE, jitter, paint_polygon, place_boxes,
                     polygon_area, shape_polygon, texture)
from .progress import progress

# (id, name, supercategory) of the 80 COCO-2017 categories.
COCO_CATEGORIES = [
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'), (3, 'car', 'vehicle'),
    (4, 'motorcycle', 'vehicle'), (5, 'airplane', 'vehicle'),
    (6, 'bus', 'vehicle'), (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'),
    (9, 'boat', 'vehicle'), (10, 'traffic light', 'outdoor'),
    (11, 'fire hydrant', 'outdoor'), (13, 'stop sign', 'outdoor'),
    (14, 'parking meter', 'outdoor'), (15, 'bench', 'outdoor'),
    (16, 'bird', 'animal'), (17, 'cat', 'animal'), (18, 'dog', 'animal'),
    (19, 'horse', 'animal'), (20, 'sheep', 'animal'), (21, 'cow', 'animal'),
    (22, 'elephant', 'animal'), (23, 'bear', 'animal'),
    (24, 'zebra', 'animal'), (25, 'giraffe', 'animal'),
    (27, 'backpack', 'accessory'), (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'),
    (33, 'suitcase', 'accessory'), (34, 'frisbee', 'sports'),
    (35, 'skis', 'sports'), (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'), (38, 'kite', 'sports'),
    (39, 'baseball bat', 'sports'), (40, 'baseball glove', 'sports'),
    (41, 'skateboard', 'sports'), (42, 'surfboard', 'sports'),
    (43, 'tennis racket', 'sports'), (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'), (47, 'cup', 'kitchen'),
    (48, 'fork', 'kitchen'), (49, 'knife', 'kitchen'),
    (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'), (53, 'apple', 'food'), (54, 'sandwich', 'food'),
    (55, 'orange', 'food'), (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'),
    (61, 'cake', 'food'), (62, 'chair', 'furniture'),
    (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'),
    (70, 'toilet', 'furniture'), (72, 'tv', 'electronic'),
    (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'),
    (81, 'sink', 'appliance'), (82, 'refrigerator', 'appliance'),
    (84, 'book', 'indoor'), (85, 'clock', 'indoor'), (86, 'vase', 'indoor'),
    (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor'),
]

#: category name -> (shape, colour) of the objects drawn
OBJECTS = {
    'sports ball': ('circle', 'orange'),
    'kite': ('triangle', 'green'),
    'stop sign': ('octagon', 'red'),
    'tv': ('rectangle', 'blue'),
}

SPLITS = {'train': 'train2017', 'val': 'val2017'}
FIRST_IMAGE_ID = {'train': 1, 'val': 100001}


def _draw_image(rng: np.random.Generator, image_id: int, width: int,
                height: int, ann_id: int) -> tuple:
    background = jitter(rng, PALETTE['gray'], 60)
    img = texture(rng, height, width, background, amplitude=30)
    count = int(rng.integers(1, 4))
    names = [str(n) for n in rng.choice(list(OBJECTS), size=count)]
    radii = rng.uniform(22, 48, size=count)
    centres = place_boxes(rng, radii, width, height)
    while centres is None:  # too crowded: shrink the objects
        radii *= 0.8
        centres = place_boxes(rng, radii, width, height)
    annotations = []
    for name, radius, centre in zip(names, radii, centres):
        shape, colour = OBJECTS[name]
        poly = shape_polygon(shape, centre, radius, rng.uniform(-0.4, 0.4))
        poly[:, 0] = np.clip(poly[:, 0], 0, width - 1)
        poly[:, 1] = np.clip(poly[:, 1], 0, height - 1)
        paint_polygon(rng, img, poly, jitter(rng, PALETTE[colour]))
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        category_id = next(c[0] for c in COCO_CATEGORIES if c[1] == name)
        annotations.append(
            dict(
                id=ann_id,
                image_id=image_id,
                category_id=category_id,
                segmentation=[np.round(poly, 2).ravel().tolist()],
                area=round(polygon_area(poly), 2),
                bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
                iscrowd=0))
        ann_id += 1
    return img, annotations


def make_coco(out_root: str,
              num_train: int = 48,
              num_val: int = 16,
              seed: int = 0) -> Dict[str, int]:
    """Write the set under ``out_root/coco``; returns images per split."""
    root = osp.join(out_root, 'coco')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    rng = np.random.default_rng(seed)
    categories = [
        dict(id=i, name=n, supercategory=s) for i, n, s in COCO_CATEGORIES
    ]
    counts = {'train': num_train, 'val': num_val}
    for split, folder in SPLITS.items():
        os.makedirs(osp.join(root, folder), exist_ok=True)
        images: List[dict] = []
        annotations: List[dict] = []
        for k in progress(range(counts[split]), f'coco {split}'):
            image_id = FIRST_IMAGE_ID[split] + k
            width = int(rng.integers(288, 353))
            height = int(rng.integers(224, 273))
            img, anns = _draw_image(rng, image_id, width, height,
                                    len(annotations) + 1 +
                                    FIRST_IMAGE_ID[split] * 10)
            file_name = f'{image_id:012d}.jpg'
            cv2.imwrite(osp.join(root, folder, file_name), img,
                        [cv2.IMWRITE_JPEG_QUALITY, 92])
            images.append(
                dict(id=image_id, file_name=file_name, width=width,
                     height=height, license=1,
                     date_captured='2026-11-22 00:00:00'))
            annotations += anns
        data = dict(
            info=dict(description='visrep small COCO-format set '
                      '(procedurally drawn)', version='1.0', year=2026),
            licenses=[dict(id=1, name='CC0', url='')],
            images=images,
            annotations=annotations,
            categories=categories)
        with open(osp.join(root, 'annotations', f'instances_{folder}.json'),
                  'w') as f:
            json.dump(data, f)
    return counts
