"""The small PASCAL Context set: mmseg's own dataset classes (60 and 59
classes) read it at the path its stock configs use."""
import importlib
import os.path as osp

import numpy as np
from mmengine.registry import DefaultScope

from visrep.datasets.synthetic.pascal_context import (CONCEPT_CLASSES,
                                                      PASCAL_CONTEXT_CLASSES,
                                                      PASCAL_CONTEXT_LABELS)


def _dataset(root, type_, split, **kwargs):
    registry = importlib.import_module('mmseg.registry')
    with DefaultScope.overwrite_default_scope('mmseg'):
        return registry.DATASETS.build(dict(
            type=type_, data_root=root,
            data_prefix=dict(img_path='JPEGImages',
                             seg_map_path='SegmentationClassContext'),
            ann_file=f'ImageSets/SegmentationContext/{split}.txt',
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations')], **kwargs))


def test_classes_are_mmseg_s():
    from mmseg.datasets import PascalContextDataset, PascalContextDataset59
    assert PASCAL_CONTEXT_CLASSES == PascalContextDataset.METAINFO['classes']
    assert PASCAL_CONTEXT_CLASSES[1:] == \
        PascalContextDataset59.METAINFO['classes']
    for concept, name in CONCEPT_CLASSES.items():
        assert PASCAL_CONTEXT_CLASSES[PASCAL_CONTEXT_LABELS[concept]] == name


def test_mmseg_reads_the_60_and_59_class_sets(small_data_cwd):
    root = osp.join(small_data_cwd, 'data', 'small', 'VOCdevkit',
                    'VOC2010')
    train = _dataset(root, 'PascalContextDataset', 'train')
    val = _dataset(root, 'PascalContextDataset', 'val')
    assert (len(train), len(val)) == (32, 12)
    names = {osp.basename(d['img_path']) for d in train.load_data_list()}
    assert not names & {osp.basename(d['img_path'])
                        for d in val.load_data_list()}
    maps = [val[i]['gt_seg_map'] for i in range(len(val))]
    assert maps[0].shape == val[0]['img'].shape[:2]
    values = set(np.unique(np.concatenate([m.ravel() for m in maps])))
    assert values <= set(PASCAL_CONTEXT_LABELS.values()) | {0}
    assert len(values) >= 8  # background and most of the ten classes
    val59 = _dataset(root, 'PascalContextDataset59', 'val',
                     reduce_zero_label=True)
    map59 = val59[0]['gt_seg_map']
    # background (0) is ignored, class k becomes k - 1
    np.testing.assert_array_equal(
        map59, np.where(maps[0] == 0, 255, maps[0].astype(np.int64) - 1))
