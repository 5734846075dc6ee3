#!/usr/bin/env python
"""Per-rank GPU memory of Swin V2 training (T to G), planned on meta tensors.

Parameters, gradients, AdamW states, buffers and caches, communication
buffers and the activation peak of one training step, per rank, under DDP,
ZeRO-1 or FSDP, with activation checkpointing (``--with-cp``) and
sequential self-attention (``--attn-chunk-size``), in fp32 or bf16 mixed
precision; what each term counts and what "peak" means:
``visrep/projects/swin_v2/memory_plan.py``.  Nothing is allocated, G
included; a plan takes seconds.

    python tools/analysis_tools/swinv2_memory.py --arch g --img 640 \\
        --batch 1 --world-size 64 --strategy fsdp --with-cp \\
        --attn-chunk-size 4 --precision bf16 --gpu-memory 40 80
    # every strategy x checkpointing x sequential attention, per resolution
    python tools/analysis_tools/swinv2_memory.py --arch g \\
        --img 192 640 1536 --world-size 64 --precision bf16 --table \\
        --gpu-memory 40 80
"""
import argparse
import itertools
from typing import List, Optional, Sequence

from visrep.engine.training_memory import PRECISIONS, STRATEGIES
from visrep.projects.swin_v2.memory_plan import (GIB, MemoryPlan,
                                                 default_window, plan_memory)

COMPONENTS = ('parameters', 'gradients', 'optimizer', 'buffers',
              'communication', 'activations')
#: windows per chunk of the sequential rows of ``--table`` without
#: ``--attn-chunk-size``
TABLE_CHUNK = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--arch', default='giant',
                        help='tiny/small/base/large/huge/giant or t..g')
    parser.add_argument('--img', type=int, nargs='+', default=[640],
                        help='input side(s), pixels')
    parser.add_argument('--window', type=int, default=None,
                        help="window size (default: the paper's for the "
                        'resolution, else img // 16)')
    parser.add_argument('--batch', type=int, default=1,
                        help='images per GPU')
    parser.add_argument('--world-size', type=int, default=1,
                        help='data-parallel ranks')
    parser.add_argument('--strategy', choices=STRATEGIES, default='fsdp')
    parser.add_argument('--with-cp', action='store_true',
                        help='activation checkpointing per block')
    parser.add_argument('--attn-chunk-size', type=int, nargs='+',
                        default=None,
                        help='sequential self-attention: windows per chunk, '
                        'one value or one per stage (0: off)')
    parser.add_argument('--precision', choices=PRECISIONS, default='fp32')
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--gpu-memory', type=float, nargs='*', default=[],
                        metavar='GIB', help='say whether the peak fits')
    parser.add_argument('--table', action='store_true',
                        help='every strategy x --with-cp x sequential '
                        f'attention (--attn-chunk-size, default '
                        f'{TABLE_CHUNK}) for each --img')
    return parser


def _chunks(values: Optional[List[int]]):
    if values is None:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def _gib(value: int) -> str:
    return f'{value / GIB:,.2f}'


def _fits(plan: MemoryPlan, gpus: Sequence[float]) -> List[str]:
    return ['yes' if plan.fits(g) else 'no' for g in gpus]


def print_plan(plan: MemoryPlan, gpus: Sequence[float]) -> None:
    print('| component | GiB per rank |\n|---|---|')
    for name in COMPONENTS:
        print(f'| {name} | {_gib(getattr(plan, name))} |')
    print(f'| **peak** | **{_gib(plan.total)}** |')
    for gpu, fits in zip(gpus, _fits(plan, gpus)):
        print(f'fits in {gpu:g} GiB: {fits}')


def print_table(args: argparse.Namespace) -> None:
    chunk = _chunks(args.attn_chunk_size) or TABLE_CHUNK
    gpus = args.gpu_memory
    print('| px | window | strategy | with_cp | attn_chunk_size | ' +
          ' | '.join(COMPONENTS) + ' | peak | ' +
          ' | '.join(f'fits {g:g} GiB' for g in gpus) + ' |')
    print('|---' * (6 + len(COMPONENTS) + len(gpus)) + '|')
    for img, strategy, with_cp, sequential in itertools.product(
            args.img, STRATEGIES, (False, True), (False, True)):
        plan = _plan(args, img, strategy, with_cp,
                     chunk if sequential else None)
        window = args.window or default_window(img)
        cells = [str(img), str(window), strategy, 'yes' if with_cp else 'no',
                 str(chunk) if sequential else 'off']
        cells += [_gib(getattr(plan, n)) for n in COMPONENTS]
        cells += [_gib(plan.total)] + _fits(plan, gpus)
        print('| ' + ' | '.join(cells) + ' |', flush=True)


def _plan(args, img, strategy, with_cp, chunk) -> MemoryPlan:
    return plan_memory(
        args.arch, img, window_size=args.window, batch_size=args.batch,
        world_size=args.world_size, strategy=strategy, with_cp=with_cp,
        attn_chunk_size=chunk, precision=args.precision,
        num_classes=args.num_classes)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    print(f'SwinV2-{args.arch}, batch {args.batch} per GPU, world size '
          f'{args.world_size}, {args.precision}; GiB = 2^30 bytes')
    try:
        if args.table:
            print_table(args)
            return
        for img in args.img:
            print(f'\n{img} px, window {args.window or default_window(img)}'
                  f', {args.strategy}, with_cp={args.with_cp}, '
                  f'attn_chunk_size={_chunks(args.attn_chunk_size)}')
            print_plan(_plan(args, img, args.strategy, args.with_cp,
                             _chunks(args.attn_chunk_size)), args.gpu_memory)
    except ValueError as error:  # a setting the planner refuses, named
        parser.error(str(error))


if __name__ == '__main__':
    main()
