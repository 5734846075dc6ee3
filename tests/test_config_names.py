"""Config names follow OpenMMLab's ``{algo}_{backbone}_{N}xb{B}-{schedule}_{dataset}``.

The rules checked (mmpretrain/mmdet naming conventions, e.g.
``resnet50_8xb32_in1k``, ``mask-rcnn_r50_fpn_1x_coco``,
``clip_vit-base-p16_zeroshot-cls_cifar100``):

* lowercase words of ``[a-z0-9.+-]`` joined by ``_``, at least two parts;
* the last part is the dataset (``in1k-256px``, ``coco``, ...): nothing,
  e.g. a normalisation variant ``_cbn``, follows it;
* ``{N}xb{B}`` (GPUs x batch per GPU) appears at most once, in the part just
  before the dataset (``8xb32``, ``fsdp-64xb9-bf16-10e``);
* ``bs`` is never a word: batch size is ``{N}xb{B}``, balanced sparsity
  ``bsp{ratio}``;
* small-data configs (``configs/**/small/``, ``configs/smoke/``,
  ``*_small-*.py``) end in one of the explicitly allowed small sets below,
  and only they do.
"""
import glob
import os.path as osp
import re
from typing import List

from _helpers import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')

#: datasets a full-size config may end with (the part may add ``-256px`` ...)
DATASETS = ('in1k', 'in22k', 'coco', 'ade20k', 'cityscapes', 'pascal-context',
            'kinetics400', 'birdsnap', 'caltech101', 'cifar10', 'cifar100',
            'dtd', 'fgvc-aircraft', 'flowers102', 'food101', 'oxford-pets',
            'stanford-cars', 'sun397', 'voc2007')
#: explicit allow-list: the dataset parts of small-data configs (the sets
#: tools/dataset_converters/make_small_datasets.py writes)
SMALL_DATASETS = ('small-imagenet', 'small-imagenet-captions', 'small-coco',
                  'small-ade20k', 'small-cityscapes', 'small-pascal-context',
                  'small-kinetics400')
NORMS = ('bn', 'cbn', 'gn', 'syncbn', 'ln')
WORD = re.compile(r'^[a-z0-9][a-z0-9.+-]*$')
NXB = re.compile(r'(^|-)\d+xb\d+(-|$)')
BS = re.compile(r'(^|-)bs(\d|of|-|$)')


def config_paths() -> List[str]:
    """Every runnable config under configs/ (not the ``_base_`` files)."""
    return sorted(
        p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'), recursive=True)
        if '_base_' not in osp.relpath(p, CONFIGS).split(osp.sep)
        and osp.basename(p) != '_base_.py')


def is_small_data(path: str) -> bool:
    rel = osp.relpath(path, CONFIGS).split(osp.sep)
    return ('small' in rel[:-1] or rel[0] == 'smoke'
            or re.search(r'(^|_)small-', rel[-1]) is not None)


def name_problems(path: str) -> List[str]:
    """What is wrong with the name of the config at ``path`` (empty: ok)."""
    stem = osp.splitext(osp.basename(path))[0]
    parts = stem.split('_')
    problems = []
    if len(parts) < 2 or not all(WORD.match(p) for p in parts):
        problems.append('not lowercase `_`-separated words of [a-z0-9.+-]')
    if any(BS.search(p) for p in parts):
        problems.append('`bs` is ambiguous: write batch size as {N}xb{B} and '
                        'balanced sparsity as bsp{ratio}')
    if parts[-1] in NORMS:
        problems.append(f'`_{parts[-1]}` follows the dataset: move it before '
                        'the {N}xb{B} part (e.g. resnet18-cbn_8xb4_in1k)')
    nxb = [i for i, p in enumerate(parts) if NXB.search(p)]
    if len(nxb) > 1 or (nxb and nxb[0] != len(parts) - 2):
        problems.append('{N}xb{B} must appear once, in the part just before '
                        'the dataset')
    dataset = parts[-1]
    if is_small_data(path):
        if not any(dataset == s for s in SMALL_DATASETS):
            problems.append(f'a small-data config must end in one of '
                            f'{SMALL_DATASETS}')
    elif not any(dataset == d or dataset.startswith(d + '-')
                 or dataset.startswith(d + '+') for d in DATASETS):
        problems.append(f'the last part {dataset!r} is not a dataset of '
                        f'{DATASETS} (small-data names only in small/ and '
                        'smoke/ or as *_small-<set>)')
    return [f'{osp.relpath(path, REPO_ROOT)}: {p}' for p in problems]


def test_every_config_name_follows_the_pattern():
    paths = config_paths()
    assert len(paths) > 100
    problems = [p for path in paths for p in name_problems(path)]
    assert not problems, '\n'.join(problems)


def test_the_check_rejects_the_old_names():
    """The renamed forms each break a rule (the check is not vacuous)."""
    bad = ['balanced_sparsity/resnet50_bs75_8xb32_in1k.py',
           'cbn/resnet18_8xb4_in1k_cbn.py',
           'cbn/resnet18_bs2_small-imagenet_bn.py',
           'icar/kornblith12/cifar10.py',
           'swin_v2/swinv2-tiny-w8_in1k-256px_16xb64.py',
           'swin_v2/swinv2-tiny-w8_16xb64_small-in1k.py',
           'smoke/resnet18_8xb32_in1k.py',
           'swin_v2/SwinV2_16xb64_in1k.py']
    for rel in bad:
        assert name_problems(osp.join(CONFIGS, rel)), rel
    for rel in ['balanced_sparsity/resnet50_bsp75_8xb32_in1k.py',
                'cbn/resnet18-cbn_8xb4_in1k.py',
                'cbn/resnet18-bn_1xb2_small-imagenet.py',
                'icar/kornblith12/icar_swinv2-base-w16_zeroshot-cls_cifar10.py']:
        assert not name_problems(osp.join(CONFIGS, rel)), rel
