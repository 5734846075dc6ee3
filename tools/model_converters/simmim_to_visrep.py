#!/usr/bin/env python
"""Convert an official SimMIM checkpoint (microsoft/SimMIM, Swin-Transformer) to our layout.

Pre-training files ``{'model': {'encoder.*', 'decoder.0.*'}}`` (Swin V1,
SwinV2 or ViT encoders) become a ``visrep.SimMIM`` checkpoint
(``backbone.*``, ``neck.decoder.0.*``): load it with ``load_from`` in our
pre-training configs, or pass ``--backbone-only`` for a plain backbone file
(no prefix, no mask token) that ``init_cfg=dict(type='Pretrained',
checkpoint=...)`` reads in any cls/det/seg config.  Fine-tuned classifiers
become ``backbone.*`` + ``head.fc.*``.  Keys are in the visrep layout of
each backbone (``visrep.checkpoint.layout``): mmpretrain's
``SwinTransformer`` / ``BEiTViT`` names for Swin V1 / ViT
(``visrep.SwinTransformerV1`` / ``visrep.SimMIMViT``), the official names
with ``norm{i}`` output norms for SwinV2 (``visrep.SwinTransformerV2``).

    python tools/model_converters/simmim_to_visrep.py IN.pth OUT.pth [--backbone-only]
"""
import argparse

import visrep  # noqa: F401
from visrep.projects.simmim.checkpoint import (convert_file,
                                               convert_official_simmim,
                                               plain_backbone)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official SimMIM checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--backbone-only', action='store_true',
                        help='write the plain backbone (no prefix, no mask '
                        'token, no decoder)')
    args = parser.parse_args(argv)

    def convert(checkpoint):
        state_dict, kind = convert_official_simmim(checkpoint)
        if args.backbone_only:
            return plain_backbone(state_dict), dict(backbone=kind,
                                                    layout='backbone')
        return state_dict, dict(backbone=kind, layout='visrep.SimMIM')

    convert_file(args.src, args.dst, convert)


if __name__ == '__main__':
    main()
