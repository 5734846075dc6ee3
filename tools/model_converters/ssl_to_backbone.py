#!/usr/bin/env python
"""Extract the backbone of a SimMIM / MoBY pre-training checkpoint.

Reads our ``visrep.SimMIM`` / ``visrep.MoBY`` checkpoints (mmengine
``{'state_dict': {'backbone.*', ...}}``) and official SimMIM / MoBY files,
and writes the (online) encoder as a plain backbone checkpoint
``{'state_dict': {<backbone keys>}}``: no ``backbone.``/``encoder.`` prefix,
no mask token, decoder, target encoder, projector or queues.  Every
cls/det/seg config reads it with ``init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` (``--prefix backbone.`` writes ``backbone.*`` keys for
``load_from`` / ``prefix='backbone.'`` instead).  SwinV2 encoders in
particular need this file: ``visrep.SwinTransformerV2``'s ``init_cfg``
refuses the mask token.

    python tools/model_converters/ssl_to_backbone.py IN.pth OUT.pth [--prefix backbone.]
"""
import argparse

import visrep  # noqa: F401
from visrep.checkpoint import unwrap
from visrep.projects.moby.checkpoint import (convert_official_moby,
                                             is_official_moby)
from visrep.projects.simmim.checkpoint import (convert_file,
                                               convert_official_simmim,
                                               plain_backbone)
from visrep.projects.simmim.simmim import is_official_simmim


def backbone_state_dict(checkpoint: dict) -> dict:
    """Plain backbone keys of a SimMIM / MoBY checkpoint, ours or official."""
    state_dict = unwrap(checkpoint)
    if is_official_moby(state_dict):
        state_dict = convert_official_moby(state_dict)
    elif is_official_simmim(state_dict):
        state_dict = convert_official_simmim(state_dict)[0]
    return plain_backbone(state_dict)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='pre-training checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint')
    parser.add_argument('--prefix', default='',
                        help="key prefix to write (e.g. 'backbone.')")
    args = parser.parse_args(argv)
    convert_file(args.src, args.dst, lambda checkpoint: (
        {args.prefix + k: v
         for k, v in backbone_state_dict(checkpoint).items()},
        dict(layout='backbone', prefix=args.prefix)))


if __name__ == '__main__':
    main()
