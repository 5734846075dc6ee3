#!/usr/bin/env python
"""Draw the balanced-sparsity mask of one pruned layer of a checkpoint.

The top panel shows which weights a patch of the layer's weight matrix keeps
(rows = output units; columns = the flattened inputs; vertical lines are
bank boundaries), the bottom one their magnitudes, and the title the number
of non-zeros that every bank of the whole layer holds.

    python tools/analysis_tools/plot_balanced_mask.py CKPT OUT.png
        [--layer backbone.layer3.0.conv2.weight] [--rows 16] [--banks 4]
"""
import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import visrep  # noqa: E402,F401
from visrep.projects.balanced_sparsity import as_rows, bank_nnz  # noqa: E402
from visrep.projects.balanced_sparsity.hook import CHECKPOINT_KEY  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='PNG file')
    parser.add_argument('--layer', help='weight name (default: the largest '
                        'pruned layer)')
    parser.add_argument('--rows', type=int, default=16)
    parser.add_argument('--banks', type=int, default=4)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint, 'cpu')
    state = checkpoint.get(CHECKPOINT_KEY) or {}
    masks = state.get('masks') or {}
    if not masks:
        raise SystemExit(f'{args.checkpoint} holds no balanced-sparsity '
                         'masks (train with visrep.BalancedSparsityHook).')
    name = args.layer or max(masks, key=lambda n: masks[n].numel())
    if name not in masks:
        raise SystemExit(f'--layer {name}: not pruned; pruned layers: '
                         f'{sorted(masks)}')
    bank = state['bank_size'][name]
    keep = as_rows(masks[name])
    weight = as_rows(checkpoint['state_dict'][name]).abs()
    counts = bank_nnz(masks[name], bank)
    cols = min(keep.shape[1], args.banks * bank)
    patch = slice(0, args.rows), slice(0, cols)

    fig, axes = plt.subplots(2, 1, figsize=(max(6, cols / 12), 5.2),
                             sharex=True, layout='constrained')
    axes[0].imshow(keep[patch].float(), cmap='Greys', vmin=0, vmax=1,
                   aspect='auto', interpolation='nearest')
    axes[0].set_title('kept (black) / pruned (white)', fontsize=9)
    image = axes[1].imshow(weight[patch], cmap='viridis', aspect='auto',
                           interpolation='nearest')
    axes[1].set_title('|w| after training (pruned = 0)', fontsize=9)
    fig.colorbar(image, ax=list(axes), fraction=0.03, label='|w|')
    for ax in axes:
        for b in range(bank, cols, bank):
            ax.axvline(b - 0.5, color='red', linewidth=1)
        ax.set_ylabel('row (output unit)')
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_xlabel(f'column (flattened input); red lines: banks of '
                       f'{bank}')
    kept = '/'.join(str(int(c)) for c in counts.unique())
    fig.suptitle(
        f'{name}: {keep.shape[0]}x{keep.shape[1]} matrix, '
        f'{1 - keep.float().mean().item():.0%} sparse; each of its '
        f'{counts.numel()} banks keeps {kept} of {bank}', fontsize=10)
    fig.savefig(args.out, dpi=110)
    print(f'{name} -> {args.out}')


if __name__ == '__main__':
    main()
