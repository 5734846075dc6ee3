#!/usr/bin/env python
"""Write the small COCO / ADE20K / Cityscapes / Kinetics-400 / ImageNet sets.

    python tools/dataset_converters/make_small_datasets.py  # all, data/small/
    python tools/dataset_converters/make_small_datasets.py \
        --out /tmp/small coco imagenet

The files follow each dataset's real on-disk format under data/small/
(data/small/coco, data/small/ade/ADEChallengeData2016, ...), where the
small-data configs (configs/**/small/, *_small-*.py, configs/smoke/) read
them; the full-size configs keep reading data/<dataset>.  The tool refuses
(exit 2) to write into a non-empty directory that is not an earlier small
set, or through a symbolic link, unless --force is given, and leaves a
VISREP_SMALL_DATA marker in each set that full-size configs refuse to read.
"""
import argparse
import os.path as osp
import sys
import time

from visrep.datasets.synthetic import (DATASET_DIRS, DEFAULT_OUT, GENERATORS,
                                       UnsafeTargetError, check_target,
                                       make_small_dataset)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'datasets', nargs='*',
        help=f'datasets to write, of {sorted(GENERATORS)} (default: all)')
    parser.add_argument('--out', default=DEFAULT_OUT,
                        help=f'root folder (default {DEFAULT_OUT}/)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--force', action='store_true',
        help='write even into a non-empty directory or through a symlink '
        '(may overwrite real data)')
    args = parser.parse_args()
    unknown = sorted(set(args.datasets) - set(GENERATORS))
    if unknown:
        parser.error(f'unknown datasets {unknown}; choose from '
                     f'{sorted(GENERATORS)}')
    return args


def main():
    args = parse_args()
    names = args.datasets or sorted(GENERATORS)
    try:  # every target first: refuse before writing anything
        for name in names:
            check_target(osp.join(args.out, DATASET_DIRS[name]), args.force)
    except UnsafeTargetError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
    for name in names:
        start = time.time()
        counts = make_small_dataset(name, args.out, seed=args.seed,
                                    force=True)  # checked above
        print(f'{name}: {counts} written under '
              f'{osp.join(args.out, DATASET_DIRS[name])}/ '
              f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
