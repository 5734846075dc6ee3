#!/usr/bin/env python
"""Export a balanced-sparse checkpoint with a per-layer report.

Reads a checkpoint written by a run with ``visrep.BalancedSparsityHook``
(or, with ``--bank-size``, any pruned checkpoint: masks = its non-zeros),
checks that every bank of every pruned row holds the same number of
non-zeros, and writes an inference checkpoint (pruned ``state_dict`` +
masks + report in ``meta``; no optimizer state) that ``tools/test.py`` and
``load_from`` read.  Exit code 1 if a layer is not balanced or has non-zero
weights at pruned positions.

    python tools/model_converters/export_balanced_sparse.py IN.pth OUT.pth
        [--report report.json] [--bank-size B] [--layers REGEX ...]
"""
import argparse
import json
import sys

import torch

import visrep  # noqa: F401
from visrep.projects.balanced_sparsity.export import (ExportError,
                                                     export_sparse)
from visrep.projects.balanced_sparsity.report import format_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='pruned training checkpoint')
    parser.add_argument('dst', help='exported checkpoint')
    parser.add_argument('--report', help='also write the report as JSON')
    parser.add_argument('--bank-size', type=int,
                        help='bank size, for checkpoints without stored masks')
    parser.add_argument('--layers', nargs='+',
                        help='regular expressions of the weights to export '
                        '(default: every masked weight)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(args.src, 'cpu')
    try:
        exported, reports = export_sparse(checkpoint, args.bank_size,
                                          args.layers)
    except ExportError as error:
        sys.exit(f'{args.src}: {error}')
    torch.save(exported, args.dst)
    print(format_table(reports))
    total = exported['meta']['balanced_sparsity_total']
    print(f'{len(reports)} pruned layers, total sparsity {total:.4f} '
          f'-> {args.dst}')
    if args.report:
        with open(args.report, 'w') as f:
            json.dump(reports, f, indent=1)
    bad = [r['layer'] for r in reports if not r['balanced']]
    leaks = [r['layer'] for r in reports if r['nonzero_in_pruned']]
    if leaks:
        print(f'non-zero weights at pruned positions (zeroed in the export): '
              f'{leaks}', file=sys.stderr)
    if bad:
        print(f'NOT balanced (banks hold different numbers of non-zeros): '
              f'{bad}', file=sys.stderr)
    return 1 if bad or leaks else 0


if __name__ == '__main__':
    sys.exit(main())
