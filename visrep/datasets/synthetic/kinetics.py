"""A small Kinetics-400 subset: video files plus mmaction2's list files.

Layout (as mmaction2's Kinetics-400 video configs read it)::

    kinetics400/videos_train/<class>/<youtube id>_<start>_<end>.mp4
    kinetics400/videos_val/<class>/...
    kinetics400/kinetics400_train_list_videos.txt   "<class>/<file>.mp4 <label>"
    kinetics400/kinetics400_val_list_videos.txt

Five classes, the first five of Kinetics-400 with their official label
indices.  Every clip shows the same kind of textured object over a textured
background; only its *motion* tells the class (down, up, growing, shrinking,
swinging left-right).  The motions are symmetric under horizontal flips, so
the usual flip augmentation keeps the labels valid, and a single frame
cannot tell them apart.
"""
import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

from .canvas import PALETTE, jitter, paint_polygon, shape_polygon, texture
from .progress import progress

#: (class name, official label, motion)
CLASSES = [
    ('abseiling', 0, 'down'),
    ('air drumming', 1, 'up'),
    ('answering questions', 2, 'grow'),
    ('applauding', 3, 'shrink'),
    ('applying cream', 4, 'swing'),
]
_ID_CHARS = np.array(list('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'))


def _trajectory(rng: np.random.Generator, motion: str, frames: int,
                width: int, height: int):
    """Per-frame (centre x, centre y, radius) of the moving object."""
    t = np.linspace(0, 1, frames)
    r0 = rng.uniform(0.16, 0.22) * height
    x = np.full(frames, rng.uniform(0.3, 0.7) * width)
    y = np.full(frames, rng.uniform(0.4, 0.6) * height)
    r = np.full(frames, r0)
    travel = rng.uniform(0.5, 0.65) * height
    if motion == 'down':
        y = 0.5 * height + (t - 0.5) * travel
    elif motion == 'up':
        y = 0.5 * height - (t - 0.5) * travel
    elif motion == 'grow':
        r = r0 * (0.5 + 1.5 * t)
    elif motion == 'shrink':
        r = r0 * (2.0 - 1.5 * t)
    elif motion == 'swing':
        x = 0.5 * width + np.sin(2 * np.pi * 1.5 * t) * 0.3 * width
    return x, y, r


def _write_clip(rng: np.random.Generator, path: str, motion: str, frames: int,
                width: int, height: int, fps: int) -> None:
    # a calm background so that the moving object is what stands out
    background = texture(rng, height, width,
                         tuple(int(v) for v in rng.integers(90, 170, 3)),
                         amplitude=12)
    colour = jitter(rng, PALETTE[str(rng.choice(['red', 'blue', 'yellow']))])
    shape = str(rng.choice(['circle', 'square', 'hexagon']))
    xs, ys, rs = _trajectory(rng, motion, frames, width, height)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (width, height))
    if not writer.isOpened():
        raise OSError(f'OpenCV cannot write mp4 video {path}')
    try:
        for x, y, r in zip(xs, ys, rs):
            frame = background.copy()
            paint_polygon(rng, frame, shape_polygon(shape, (x, y), r), colour)
            noise = rng.normal(0, 1.5, frame.shape)  # sensor grain
            writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
    finally:
        writer.release()


def make_kinetics400(out_root: str,
                     num_train_per_class: int = 16,
                     num_val_per_class: int = 4,
                     seed: int = 0,
                     frames: int = 32,
                     width: int = 96,
                     height: int = 72,
                     fps: int = 15) -> Dict[str, int]:
    """Write the subset under ``out_root/kinetics400``."""
    root = osp.join(out_root, 'kinetics400')
    rng = np.random.default_rng(seed)
    counts = {}
    for split, per_class in (('train', num_train_per_class),
                             ('val', num_val_per_class)):
        lines: List[str] = []
        items = [(c, k) for c in CLASSES for k in range(per_class)]
        for (name, label, motion), _ in progress(items, f'kinetics {split}', unit='video'):
            folder = name.replace(' ', '_')
            os.makedirs(osp.join(root, f'videos_{split}', folder), exist_ok=True)
            youtube_id = ''.join(rng.choice(_ID_CHARS, 11))
            start = int(rng.integers(0, 300))
            rel = f'{folder}/{youtube_id}_{start:06d}_{start + 10:06d}.mp4'
            _write_clip(rng, osp.join(root, f'videos_{split}', rel), motion,
                        frames, width, height, fps)
            lines.append(f'{rel} {label}')
        with open(osp.join(root, f'kinetics400_{split}_list_videos.txt'),
                  'w') as f:
            f.write('\n'.join(lines) + '\n')
        counts[split] = len(lines)
    return counts
