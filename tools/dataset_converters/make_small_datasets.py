#!/usr/bin/env python
"""Write the small COCO / ADE20K / Cityscapes / Kinetics-400 / ImageNet sets.

    python tools/dataset_converters/make_small_datasets.py            # all, into data/
    python tools/dataset_converters/make_small_datasets.py --out /tmp/data coco imagenet

The files follow each dataset's real on-disk format at the paths the stock
configs read, so every config under configs/ runs on them out of the box.
"""
import argparse
import time

from visrep.datasets.synthetic import GENERATORS


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'datasets', nargs='*',
        help=f'datasets to write, of {sorted(GENERATORS)} (default: all)')
    parser.add_argument('--out', default='data', help='root folder (data/)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args()
    unknown = sorted(set(args.datasets) - set(GENERATORS))
    if unknown:
        parser.error(f'unknown datasets {unknown}; choose from '
                     f'{sorted(GENERATORS)}')
    return args


def main():
    args = parse_args()
    for name in args.datasets or sorted(GENERATORS):
        start = time.time()
        counts = GENERATORS[name](args.out, seed=args.seed)
        print(f'{name}: {counts} written under {args.out}/ '
              f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
