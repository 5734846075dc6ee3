#!/usr/bin/env python
"""Convert an official MoBY checkpoint (SwinTransformer/Transformer-SSL) to our layout.

``{'model': {'encoder.*', 'encoder_k.*', 'projector[_k].*', 'predictor.*',
'queue1', 'queue2', 'queue_ptr'}}`` becomes a ``visrep.MoBY`` checkpoint
(``backbone.*`` / ``target_backbone.*`` in mmpretrain's Swin layout,
``neck.*``, ``target_neck.*``, ``head.predictor.*``, the queues): continue
pre-training with ``load_from``.  ``--backbone-only`` writes the online
encoder as a plain backbone file (no ``encoder.`` prefix -- the prefix that
makes the released weights load as nothing in detection code) for
``init_cfg=dict(type='Pretrained', checkpoint=...)`` in cls/det/seg
configs with ``visrep.SwinTransformerV1`` (which also reads the original
file directly).

    python tools/model_converters/moby_to_visrep.py IN.pth OUT.pth [--backbone-only]
"""
import argparse

import visrep  # noqa: F401
from visrep.checkpoint import unwrap
from visrep.projects.moby.checkpoint import (convert_official_moby,
                                             is_official_moby)
from visrep.projects.simmim.checkpoint import convert_file, plain_backbone


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='official MoBY checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--backbone-only', action='store_true',
                        help='write the online encoder as a plain backbone')
    args = parser.parse_args(argv)

    def convert(checkpoint):
        state_dict = unwrap(checkpoint)
        if not is_official_moby(state_dict):
            raise SystemExit(f'{args.src}: no encoder_k.* / queue1 keys, not '
                             'an official MoBY pre-training checkpoint.')
        state_dict = convert_official_moby(state_dict)
        if args.backbone_only:
            return plain_backbone(state_dict), dict(layout='backbone')
        return state_dict, dict(layout='visrep.MoBY')

    convert_file(args.src, args.dst, convert)


if __name__ == '__main__':
    main()
