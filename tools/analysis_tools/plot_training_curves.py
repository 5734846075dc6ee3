#!/usr/bin/env python
"""Plot training curves (loss, lr, metrics) from mmengine's json logs.

Each run is a work dir (its newest ``<timestamp>/vis_data/scalars.json``) or
a ``scalars.json`` file: json lines, the training ones with ``iter`` and
``step``, the evaluation ones with the metrics and ``step`` (the epoch for
epoch-based runs, the iteration otherwise).  One subplot per key, the runs
overlaid; evaluation points are drawn with markers.

    python tools/analysis_tools/plot_training_curves.py WORK_DIR_OR_JSON \\
        [...] --keys loss lr accuracy/top1 --out curves.png \\
        [--labels a b] [--x iter|epoch]
"""
import argparse
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from visrep.cli.run_logs import newest_scalars_file, read_json_lines  # noqa: E402,E501

Record = Dict[str, float]
Series = Tuple[List[float], List[float]]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', metavar='WORK_DIR_OR_JSON')
    parser.add_argument('--keys', nargs='+', default=['loss', 'lr'],
                        help='logged scalars to plot, one subplot each')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--labels', '--legend', nargs='+',
                        help='legend names of the runs (default: the work '
                        'dir names)')
    parser.add_argument('--x', choices=['iter', 'epoch'], default='iter',
                        help='x axis (epoch: epoch-based runs only)')
    parser.add_argument('--title', default=None)
    return parser.parse_args(argv)


def scalars_file(path: str) -> str:
    """The ``scalars.json`` a work dir, timestamp dir or file stands for."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise SystemExit(f'{path!r} does not exist: pass a work dir or an '
                         'mmengine vis_data/scalars.json file.')
    for candidate in (osp.join(path, 'vis_data', 'scalars.json'),
                      osp.join(path, 'scalars.json')):
        if osp.isfile(candidate):
            return candidate
    found = newest_scalars_file(path)  # the newest run in that work dir
    if found is None:
        raise SystemExit(f'{path!r} holds no <timestamp>/vis_data/'
                         'scalars.json: is it the --work-dir of a run that '
                         'logged at least one step?')
    return found


def read_records(path: str) -> List[Record]:
    """The json lines of a ``scalars.json``."""
    try:
        return read_json_lines(path)
    except json.JSONDecodeError as err:
        raise SystemExit(f'{path}: not mmengine json lines ({err}).')


def run_label(path: str) -> str:
    """A run's name: its work dir's (``<work_dir>/<ts>/vis_data/...``)."""
    path = osp.abspath(path)
    if osp.isfile(path):
        parts = path.split(osp.sep)
        if len(parts) >= 4 and parts[-2] == 'vis_data':
            return parts[-4]
        return osp.splitext(osp.basename(path))[0]
    return osp.basename(path.rstrip(osp.sep))


def iters_per_epoch(train: Sequence[Record]) -> Optional[float]:
    """For an epoch-based run (records hold ``epoch``): iterations per epoch,
    the smallest count consistent with every logged ``(epoch, iter)``."""
    pairs = [(r['epoch'], r['iter']) for r in train if 'epoch' in r]
    if not pairs:
        return None
    return max(math.ceil(i / e) for e, i in pairs if e > 0)


def series(records: Sequence[Record], key: str,
           x: str = 'iter') -> Dict[str, Series]:
    """``{'train': (xs, ys), 'val': (xs, ys)}`` of ``key`` (kinds without it
    left out).  Training records are those with ``iter``."""
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'iter' not in r and 'step' in r]
    per_epoch = iters_per_epoch(train)
    if x == 'epoch' and per_epoch is None:
        raise SystemExit('--x epoch: this run is iteration-based (its '
                         'records have no epoch); use --x iter.')
    out = {}
    points = [(r['iter'], r[key]) for r in train if key in r]
    if points:
        xs = [i / per_epoch if x == 'epoch' else i for i, _ in points]
        out['train'] = (xs, [v for _, v in points])
    points = [(r['step'], r[key]) for r in val if key in r]
    if points:
        # the evaluation's step is the epoch in epoch-based runs
        scale = per_epoch if per_epoch is not None and x == 'iter' else 1
        xs = [s * scale for s, _ in points]
        out['val'] = (xs, [v for _, v in points])
    return out


def available_keys(records: Sequence[Record]) -> List[str]:
    """Every logged scalar name except the axes."""
    keys = {k for r in records for k in r} - {'iter', 'step', 'epoch'}
    return sorted(keys)


def _log_scale(values: Sequence[float]) -> bool:
    """Values that are all positive and span more than 100x."""
    return min(values) > 0 and max(values) > 100 * min(values)


def plot(runs: Dict[str, List[Record]], keys: Sequence[str], x: str,
         out: str, title: Optional[str] = None) -> Dict[str, int]:
    """One subplot per key; returns the number of lines drawn per key."""
    columns = 2 if len(keys) == 4 else min(len(keys), 3)
    rows = math.ceil(len(keys) / columns)
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(4.2 * columns, 3.2 * rows),
                             layout='constrained')
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    drawn = {}
    for k, key in enumerate(keys):
        ax = axes[k // columns, k % columns]
        values = []
        drawn[key] = 0
        for r, (label, records) in enumerate(runs.items()):
            colour = colours[r % len(colours)]
            for kind, (xs, ys) in series(records, key, x).items():
                style = dict(marker='o', markersize=4, linestyle='--') \
                    if kind == 'val' else dict(linewidth=1.4)
                name = f'{label} (val)' if kind == 'val' and any(
                    key in rec for rec in records if 'iter' in rec) else label
                ax.plot(xs, ys, color=colour, label=name, **style)
                values += ys
                drawn[key] += 1
        if values and _log_scale(values):
            ax.set_yscale('log')
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration' if x == 'iter' else 'epoch')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for k in range(len(keys), rows * columns):
        axes[k // columns, k % columns].axis('off')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return drawn


def main(argv=None) -> Dict[str, int]:
    """Write the figure; returns the number of lines drawn per key."""
    args = parse_args(argv)
    if args.labels and len(args.labels) != len(args.runs):
        raise SystemExit(f'--labels: {len(args.labels)} names for '
                         f'{len(args.runs)} runs; give one per run.')
    labels = args.labels or [run_label(p) for p in args.runs]
    runs = {}
    for label, path in zip(labels, args.runs):
        if label in runs:
            raise SystemExit(f'two runs are called {label!r}: pass --labels.')
        runs[label] = read_records(scalars_file(path))
    for key in args.keys:
        if not any(key in r for records in runs.values() for r in records):
            known = sorted({k for records in runs.values()
                            for k in available_keys(records)})
            raise SystemExit(f'--keys {key}: no run logged it; logged: '
                             f'{known}')
    drawn = plot(runs, args.keys, args.x, args.out, args.title)
    print(f'{len(runs)} runs, keys {list(args.keys)} -> {args.out}')
    return drawn


if __name__ == '__main__':
    main()
