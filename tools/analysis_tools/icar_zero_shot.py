"""Zero-shot classification of an iCAR checkpoint on any class list.

The classifier is generated from the class text ("name: description",
templates averaged); the images are a list file "<path> <label>" whose
labels index ``--classes``:

    python tools/analysis_tools/icar_zero_shot.py CONFIG CHECKPOINT \\
        --classes 'electric ray,stingray,cock,hen,ostrich' \\
        --ann-file meta/val_heldout.txt [--descriptions x.json] \\
        [--data-root data/imagenet --data-prefix val] [--work-dir DIR]

``--classes`` is a comma-separated list, a .txt (one name per line) / .json
file, or ``timm:imagenet-1k``.  Prints and returns the metrics of the
config's test evaluator.
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

import visrep  # noqa: F401  (compatibility layer first)
from visrep.projects.icar.class_text import TIMM_PREFIX, load_class_names


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--classes', required=True)
    parser.add_argument('--ann-file', required=True,
                        help='"<path> <label>" per line')
    parser.add_argument('--descriptions', default=None,
                        help="JSON name -> description, 'timm:<subset>', "
                        "or 'none' for names only (default: the config's)")
    parser.add_argument('--data-root', default=None)
    parser.add_argument('--data-prefix', default=None)
    parser.add_argument('--work-dir', default=None)
    return parser.parse_args(argv)


def class_list(spec: str):
    if spec.startswith(TIMM_PREFIX) or osp.isfile(spec):
        return load_class_names(spec, '--classes')
    return [name.strip() for name in spec.split(',') if name.strip()]


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    names = class_list(args.classes)
    text = dict(cfg.model.get('test_class_text') or
                cfg.model.get('class_text') or {})
    text['classes'] = names
    if args.descriptions == 'none':
        text['description_mode'] = 'name'
    elif args.descriptions is not None:
        text['descriptions'] = args.descriptions
    cfg.model.test_class_text = text
    cfg.model.test_classifier = 'text'
    dataset = cfg.test_dataloader.dataset
    dataset.ann_file = args.ann_file
    dataset.metainfo = dict(classes=names)
    if args.data_root is not None:
        dataset.data_root = args.data_root
    if args.data_prefix is not None:
        dataset.data_prefix = args.data_prefix
    cfg.load_from = args.checkpoint
    cfg.work_dir = args.work_dir or osp.join(
        'work_dirs', 'icar_zero_shot',
        osp.splitext(osp.basename(args.config))[0])
    metrics = Runner.from_cfg(cfg).test()
    print(json.dumps(metrics))
    return metrics


if __name__ == '__main__':
    main()
