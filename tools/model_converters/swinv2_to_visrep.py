#!/usr/bin/env python
"""Convert a Swin V2 checkpoint to the suite's layout.

Reads official microsoft/Swin-Transformer releases (``{'model': ...}``),
timm ``swinv2_*`` state dicts and mmpretrain's converted SwinV2 checkpoints,
and writes an mmpretrain-style classifier checkpoint
(``{'state_dict': {'backbone.*', 'head.fc.*'}, 'meta': ...}``) that
``load_from`` / ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` read
in any toolkit.  (Those also read the original files directly; converting
once just makes the files smaller and the layout explicit.)

    python tools/model_converters/swinv2_to_visrep.py IN.pth OUT.pth [--head-22k-to-1k] [--no-head]
"""
import argparse
import os.path as osp

import torch

import visrep  # noqa: F401
from visrep.projects.swin_v2.checkpoint import (map_head_22k_to_1k,
                                                split_swin_v2_checkpoint)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--head-22k-to-1k', action='store_true',
                        help='keep the 1000 ImageNet-1k rows of a 22K head')
    parser.add_argument('--no-head', action='store_true',
                        help='write the backbone only')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(args.src, 'cpu')
    backbone, head, layout = split_swin_v2_checkpoint(checkpoint)
    if args.head_22k_to_1k:
        if not head:
            raise SystemExit(f'{args.src} has no classifier head to remap.')
        head = map_head_22k_to_1k(head)
    state_dict = {f'backbone.{k}': v for k, v in backbone.items()}
    if head and not args.no_head:
        state_dict.update({f'head.{k}': v for k, v in head.items()})
    meta = dict(converted_from=osp.basename(args.src), source_layout=layout)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    head_note = ''
    if head and not args.no_head:
        head_note = f', head {tuple(head["fc.weight"].shape)}'
    print(f'{args.src} ({layout} layout): {len(backbone)} backbone tensors'
          f'{head_note} -> {args.dst}')


if __name__ == '__main__':
    main()
