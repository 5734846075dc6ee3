#!/usr/bin/env python
"""BN vs CBN (vs GN) at 2 images per iteration on the small ImageNet set.

Trains configs/cbn/resnet18-{norm}_1xb2_small-imagenet.py through
tools/train.py for every norm and seed (same data, schedule and seeds for
all), evaluates after every epoch, and prints a Markdown table of the final
top-1 accuracy (per seed, mean and standard deviation) and the time per run;
with ``--plot`` it also draws the validation curves.  Run it from a
directory whose ``data/small/imagenet`` holds the small set
(``python tools/dataset_converters/make_small_datasets.py imagenet``).

    python tools/analysis_tools/cbn_small_batch_demo.py [--norms bn cbn gn]
        [--seeds 0 1 2] [--epochs 6] [--work-dir work_dirs/cbn_demo]
        [--plot cbn_demo.png]
"""
import argparse
import os.path as osp
import statistics
import subprocess
import sys
import time

from tqdm import tqdm

from visrep.cli.run_logs import read_scalars

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO_ROOT, 'tools', 'train.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'cbn',
                  'resnet18-{}_1xb2_small-imagenet.py')
NAMES = {'bn': 'BN', 'cbn': 'CBN (k=8)', 'gn': 'GN'}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--norms', nargs='+', default=['bn', 'cbn', 'gn'],
                        choices=sorted(NAMES))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=6)
    parser.add_argument('--work-dir', default='work_dirs/cbn_demo')
    parser.add_argument('--plot', help='PNG file for the validation curves')
    return parser.parse_args(argv)


def train(norm: str, seed: int, args) -> dict:
    work_dir = osp.join(args.work_dir, f'{norm}_seed{seed}')
    command = [sys.executable, TRAIN, CONFIG.format(norm), '--work-dir',
               work_dir, '--seed', str(seed), '--cfg-options',
               f'train_cfg.max_epochs={args.epochs}',
               'train_cfg.val_interval=1',
               f'default_hooks.checkpoint.interval={args.epochs}']
    start = time.perf_counter()
    # the runs' logs stay out of the progress bar; a failure shows its tail
    proc = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=3600)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f'{" ".join(command)} exited with '
                         f'{proc.returncode}:\n{proc.stdout[-6000:]}')
    curve = [r['accuracy/top1'] for r in read_scalars(work_dir)
             if 'accuracy/top1' in r]
    return dict(curve=curve, seconds=seconds)


def table(results: dict, args) -> str:
    seeds = ' | '.join(f'seed {s}' for s in args.seeds)
    lines = [f'| norm | {seeds} | mean ± std | s / run |',
             '|---|' + '---|' * (len(args.seeds) + 2)]
    for norm in args.norms:
        final = [results[norm, s]['curve'][-1] for s in args.seeds]
        spread = statistics.stdev(final) if len(final) > 1 else 0.0
        seconds = statistics.mean(results[norm, s]['seconds']
                                  for s in args.seeds)
        cells = ' | '.join(f'{v:.1f}' for v in final)
        lines.append(f'| {NAMES[norm]} | {cells} | '
                     f'{statistics.mean(final):.1f} ± {spread:.1f} | '
                     f'{seconds:.0f} |')
    return '\n'.join(lines)


def plot(results: dict, args) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for index, norm in enumerate(args.norms):
        for seed in args.seeds:
            curve = results[norm, seed]['curve']
            axis.plot(range(1, len(curve) + 1), curve, color=f'C{index}',
                      alpha=0.8, label=NAMES[norm] if seed == args.seeds[0]
                      else None)
    axis.set_xlabel('epoch')
    axis.set_ylabel('val top-1 (%)')
    axis.set_title('ResNet-18, small ImageNet, 2 images / iteration',
                   fontsize=9)
    axis.legend()
    figure.tight_layout()
    figure.savefig(args.plot, dpi=120)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isdir(osp.join('data', 'small', 'imagenet')):
        raise SystemExit(
            'data/small/imagenet not found in the current directory. Fix: run '
            'python tools/dataset_converters/make_small_datasets.py imagenet '
            'here first.')
    runs = [(norm, seed) for seed in args.seeds for norm in args.norms]
    results = {}
    for norm, seed in tqdm(runs, desc='training runs'):
        results[norm, seed] = train(norm, seed, args)
    print(f'\nResNet-18, small ImageNet (400 train / 100 val images, 10 '
          f'classes, 64 px), batch 2, {args.epochs} epochs: final val top-1')
    print(table(results, args))
    if args.plot:
        plot(results, args)
        print(f'curves: {args.plot}')


if __name__ == '__main__':
    main()
