#!/usr/bin/env python
"""Analyse mmengine's json logs, with the two sub-commands of the
toolkits' ``tools/analysis_tools/analyze_logs.py``:

* ``plot_curve``: loss / lr / metric curves of one or more runs (the
  plotting of ``plot_training_curves.py``, same arguments; ``--legend`` is
  an alias of ``--labels``);
* ``cal_train_time``: the training time per iteration, per epoch (slowest,
  fastest, spread) and overall.  As in the toolkits, the first logged value
  of each epoch (it includes the data loader start-up) is left out unless
  ``--include-outliers``.

A run is a work dir (its newest ``<timestamp>/vis_data/scalars.json``) or
the ``scalars.json`` file itself; the ``time`` mmengine logs is the mean
seconds per iteration over the logging window.

    python tools/analysis_tools/analyze_logs.py plot_curve WORK_DIR \\
        --keys loss lr accuracy/top1 --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time WORK_DIR [...]
"""
import argparse
import importlib.util
import os.path as osp
import sys
from dataclasses import dataclass, field
from itertools import groupby
from types import ModuleType
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

import visrep  # noqa: F401  (compatibility layer)


def _curves_module() -> ModuleType:
    """``plot_training_curves.py`` next to this script (tools are scripts,
    not a package)."""
    path = osp.join(osp.dirname(osp.abspath(__file__)),
                    'plot_training_curves.py')
    spec = importlib.util.spec_from_file_location('plot_training_curves',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


curves = _curves_module()


@dataclass
class TrainTime:
    """Seconds per training iteration of one run."""

    run: str
    average: float
    #: per epoch, 1-based epoch -> mean (epoch-based runs only)
    per_epoch: Dict[int, float] = field(default_factory=dict)
    slowest_epoch: Optional[int] = None
    fastest_epoch: Optional[int] = None
    std_over_epochs: Optional[float] = None


def train_records(records: Sequence[dict]) -> List[dict]:
    """The training records that logged a ``time``."""
    return [r for r in records if 'iter' in r and 'time' in r]


def train_time(run: str, records: Sequence[dict],
               include_outliers: bool = False) -> TrainTime:
    """Per-epoch means (first logged value of each epoch left out unless
    ``include_outliers``), the slowest / fastest epoch and the standard
    deviation of the epoch means; ``average`` is the mean of every logged
    value, as the toolkits report it.

    Raises:
        ValueError: the run logged no training time.
    """
    train = train_records(records)
    if not train:
        raise ValueError(f'{run}: no training record with `time`; was it '
                         'trained with a LoggerHook (mmengine default)?')
    result = TrainTime(run=run,
                       average=float(np.mean([r['time'] for r in train])))
    if 'epoch' not in train[0]:
        return result
    for epoch, logs in groupby(train, key=lambda r: r['epoch']):
        times = [r['time'] for r in logs]
        times = times if include_outliers else times[1:]
        if times:
            result.per_epoch[int(epoch)] = float(np.mean(times))
    if not result.per_epoch:
        raise ValueError(
            f'{run}: every epoch logged a single value, left out as the '
            'start-up outlier; pass --include-outliers or lower '
            'default_hooks.logger.interval.')
    means = result.per_epoch
    result.slowest_epoch = max(means, key=means.get)
    result.fastest_epoch = min(means, key=means.get)
    result.std_over_epochs = float(np.std(list(means.values())))
    return result


def format_time(result: TrainTime) -> str:
    lines = [f'-----Analyze train time of {result.run}-----']
    if result.per_epoch:
        slow, fast = result.slowest_epoch, result.fastest_epoch
        lines += [
            f'slowest epoch {slow}, average time is '
            f'{result.per_epoch[slow]:.4f}',
            f'fastest epoch {fast}, average time is '
            f'{result.per_epoch[fast]:.4f}',
            f'time std over epochs is {result.std_over_epochs:.4f}'
        ]
    lines.append(f'average iter time: {result.average:.4f} s/iter')
    return '\n'.join(lines)


def cal_train_time(argv: Sequence[str]) -> List[TrainTime]:
    parser = argparse.ArgumentParser(
        prog='analyze_logs.py cal_train_time',
        description='Seconds per training iteration.')
    parser.add_argument('runs', nargs='+', metavar='WORK_DIR_OR_JSON')
    parser.add_argument('--include-outliers', action='store_true',
                        help='keep the first value of every epoch')
    args = parser.parse_args(argv)
    results = []
    for run in args.runs:
        path = curves.scalars_file(run)
        try:
            result = train_time(path, curves.read_records(path),
                                args.include_outliers)
        except ValueError as err:
            raise SystemExit(str(err)) from None
        print(format_time(result) + '\n')
        results.append(result)
    return results


COMMANDS = {
    'plot_curve': lambda argv: curves.main(argv),
    'cal_train_time': cal_train_time,
}


def main(argv: Optional[Sequence[str]] = None
         ) -> Union[Dict[str, int], List[TrainTime]]:
    """``plot_curve ...`` or ``cal_train_time ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        raise SystemExit('usage: analyze_logs.py {plot_curve,cal_train_time}'
                         ' WORK_DIR_OR_JSON [...] [options]; -h after the '
                         'command for its options.')
    return COMMANDS[argv[0]](argv[1:])


if __name__ == '__main__':
    try:
        main()
    except SystemExit as stop:  # a message naming the bad input: exit 2
        if not isinstance(stop.code, str):
            raise
        print(f'error: {stop.code}', file=sys.stderr)
        sys.exit(2)
