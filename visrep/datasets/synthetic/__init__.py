"""Small, procedurally drawn datasets in the real on-disk formats.

Each ``make_*`` writes one dataset under ``out_root`` at the path the stock
toolkit configs read (``data/coco``, ``data/ade/ADEChallengeData2016``,
``data/cityscapes``, ``data/kinetics400``, ``data/imagenet``,
``data/VOCdevkit/VOC2010`` when ``out_root`` is ``data``).  The content is
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

__all__ = ['GENERATORS', 'make_ade20k', 'make_cityscapes', 'make_coco',
           'make_imagenet', 'make_imagenet_captions', 'make_kinetics400',
           'make_pascal_context']
