"""Small, procedurally drawn datasets in the real on-disk formats.

Each ``make_*`` writes one dataset under ``out_root`` in the stock toolkit
layout (``coco``, ``ade/ADEChallengeData2016``, ``cityscapes``,
``kinetics400``, ``imagenet``, ``VOCdevkit/VOC2010``).  The small-data configs
read them under ``data/small/`` (``out_root='data/small'``), never the
``data/<dataset>`` of the full-size configs; :func:`make_small_dataset` checks
the target (no symlinks, no foreign non-empty directory) and leaves the
``VISREP_SMALL_DATA`` marker the config checks look for.  The content is
learnable: consistent shapes, colours, textures and motions per class, so a
short training run beats chance.
"""
from .ade20k import make_ade20k
from .cityscapes import make_cityscapes
from .coco import make_coco
from .imagenet import make_imagenet
from .imagenet_captions import make_imagenet_captions
from .kinetics import make_kinetics400
from .pascal_context import make_pascal_context
from .target import (DATASET_DIRS, DEFAULT_OUT, MARKER, UnsafeTargetError,
                     check_target, write_marker)
from .target import make_small_dataset as _make_small_dataset

#: dataset name -> generator(out_root, seed=...) -> images/videos per split
GENERATORS = {
    'coco': make_coco,
    'ade20k': make_ade20k,
    'cityscapes': make_cityscapes,
    'kinetics400': make_kinetics400,
    'imagenet': make_imagenet,
    'imagenet_captions': make_imagenet_captions,  # after imagenet: extends it
    'pascal_context': make_pascal_context,
}


def make_small_dataset(name: str, out_root: str = DEFAULT_OUT, seed: int = 0,
                       force: bool = False):
    """Write the small set ``name`` under ``out_root`` safely, with marker."""
    return _make_small_dataset(GENERATORS, name, out_root, seed=seed,
                               force=force)


__all__ = ['GENERATORS', 'DATASET_DIRS', 'DEFAULT_OUT', 'MARKER',
           'UnsafeTargetError', 'check_target', 'make_small_dataset',
           'write_marker', 'make_ade20k', 'make_cityscapes', 'make_coco',
           'make_imagenet', 'make_imagenet_captions', 'make_kinetics400',
           'make_pascal_context']
