"""Captions and a held-out class split for the small ImageNet set: data for
image-text alignment and zero-shot evaluation.

Adds to ``imagenet/`` (written by :func:`make_imagenet`, made first if
missing)::

    imagenet/captions/cap_00001.JPEG ...   extra images: random shape x colour
    imagenet/meta/captions_train.txt       "<path>\t<caption>": every train
                                           image and every extra image
    imagenet/meta/class_descriptions.json  {"tench": "a red coloured circle"}
    imagenet/meta/train_seen.txt           labelled train set: classes 0-4
    imagenet/meta/train_heldout.txt        train images of classes 5-9,
                                           relabelled 0-4 (few-shot)
    imagenet/meta/val_seen.txt             val images of classes 0-4
    imagenet/meta/val_heldout.txt          val images of classes 5-9,
                                           relabelled 0-4

The captions name the colour and the shape in varied phrasings, so image-text
alignment can learn the words of the held-out classes (5-9: their colours
never occur among the labelled classes) while classification sees only
classes 0-4: zero-shot accuracy on ``val_heldout`` measures what the
captions taught.  Class names are each synset's first WordNet lemma.
"""
import json
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from .canvas import PALETTE, SHAPES
from .imagenet import CLASSES, _draw, make_imagenet
from .progress import progress

#: first lemma of the ten synsets of :data:`imagenet.CLASSES`, in order
CLASS_NAMES = ['tench', 'goldfish', 'great white shark', 'tiger shark',
               'hammerhead', 'electric ray', 'stingray', 'cock', 'hen',
               'ostrich']
#: classes of the labelled set; the others are held out
SEEN = 5
#: how a shape is written in text
SHAPE_WORDS = {name: name.replace('l_shape', 'L shape') for name in SHAPES}
PHRASES = [
    '{c} {s}', 'a {c} {s}', 'a photo of a {c} {s}', 'a {s} in {c}',
    'a {c} {s} on a textured background', 'a {s} that is {c}',
    'this is a {c} {s}', 'a picture showing a {c} {s}',
]


def _caption(rng: np.random.Generator, shape: str, colour: str) -> str:
    phrase = PHRASES[int(rng.integers(len(PHRASES)))]
    article = 'an' if colour[0] in 'aeiou' else 'a'
    return phrase.format(c=colour, s=SHAPE_WORDS[shape]).replace(
        f'a {colour}', f'{article} {colour}')


def _read(path: str) -> List[List[str]]:
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def make_imagenet_captions(out_root: str, num_extra: int = 160,
                           seed: int = 0) -> Dict[str, int]:
    """Write the caption files and splits under ``out_root/imagenet``."""
    root = osp.join(out_root, 'imagenet')
    meta = osp.join(root, 'meta')
    if not (osp.isfile(osp.join(meta, 'train.txt')) and
            osp.isfile(osp.join(meta, 'val.txt'))):
        make_imagenet(out_root, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    look = {label: (shape, colour) for _, label, shape, colour in CLASSES}

    train = _read(osp.join(meta, 'train.txt'))
    val = _read(osp.join(meta, 'val.txt'))
    lines = [f'train/{path}\t{_caption(rng, *look[int(label)])}'
             for path, label in train]
    os.makedirs(osp.join(root, 'captions'), exist_ok=True)
    shapes, colours = sorted(SHAPES), sorted(PALETTE)
    for k in progress(range(num_extra), 'imagenet captions'):
        shape = shapes[int(rng.integers(len(shapes)))]
        colour = colours[int(rng.integers(len(colours)))]
        name = f'captions/cap_{k + 1:05d}.JPEG'
        cv2.imwrite(osp.join(root, name), _draw(rng, shape, colour),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines.append(f'{name}\t{_caption(rng, shape, colour)}')

    files = {
        'captions_train.txt': lines,
        'train_seen.txt': [f'{p} {y}' for p, y in train if int(y) < SEEN],
        'train_heldout.txt': [f'{p} {int(y) - SEEN}' for p, y in train
                              if int(y) >= SEEN],
        'val_seen.txt': [f'{p} {y}' for p, y in val if int(y) < SEEN],
        'val_heldout.txt': [f'{p} {int(y) - SEEN}' for p, y in val
                            if int(y) >= SEEN],
    }
    for name, rows in files.items():
        with open(osp.join(meta, name), 'w') as f:
            f.write('\n'.join(rows) + '\n')
    descriptions = {
        CLASS_NAMES[label]: f'a {colour} coloured {SHAPE_WORDS[shape]}'
        for _, label, shape, colour in CLASSES
    }
    with open(osp.join(meta, 'class_descriptions.json'), 'w') as f:
        json.dump(descriptions, f, indent=1)
    return {'captions': len(lines), 'extra_images': num_extra,
            'train_seen': len(files['train_seen.txt']),
            'val_heldout': len(files['val_heldout.txt'])}
