"""The small datasets are in the real formats: the toolkits' own classes read them."""
import hashlib
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from visrep.datasets.synthetic import (DATASET_DIRS, GENERATORS, MARKER,
                                       UnsafeTargetError, check_target,
                                       make_imagenet)
from visrep.datasets.synthetic.ade20k import ADE20K_LABELS, ADE20K_NAMES
from visrep.datasets.synthetic.cityscapes import (CITYSCAPES_LABELS,
                                                  CITYSCAPES_NAMES)
from visrep.datasets.synthetic.coco import COCO_CATEGORIES, OBJECTS
from visrep.datasets.synthetic.imagenet import CLASSES as IMAGENET_CLASSES
from visrep.datasets.synthetic.kinetics import CLASSES as KINETICS_CLASSES


def _build(scope, cfg):
    import importlib
    registry = importlib.import_module(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        return registry.DATASETS.build(cfg)


# ------------------------------------------------------------------ COCO
def test_coco_categories_are_the_official_80():
    from mmdet.datasets import CocoDataset
    names = [name for _, name, _ in COCO_CATEGORIES]
    assert tuple(names) == CocoDataset.METAINFO['classes']
    ids = [i for i, _, _ in COCO_CATEGORIES]
    assert ids == sorted(ids) and len(set(ids)) == 80 and ids[-1] == 90


def test_coco_masks_boxes_and_mmdet_loading(small_data_cwd):
    from pycocotools.coco import COCO
    root = osp.join(small_data_cwd, 'data', 'small', 'coco')
    coco = COCO(osp.join(root, 'annotations', 'instances_val2017.json'))
    used = {coco.cats[a['category_id']]['name'] for a in coco.anns.values()}
    assert used == set(OBJECTS)
    for ann in coco.anns.values():
        mask = coco.annToMask(ann)
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        # the box is the extent of the polygon mask (1 px rasterisation slack)
        assert abs(xs.min() - x) <= 1.5 and abs(ys.min() - y) <= 1.5
        assert abs(xs.max() + 1 - (x + w)) <= 1.5
        assert abs(ys.max() + 1 - (y + h)) <= 1.5
        assert abs(mask.sum() - ann['area']) <= 0.15 * ann['area']
    dataset = _build('mmdet', dict(
        type='CocoDataset', data_root=root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]))
    assert len(dataset) == 48
    sample = dataset[0]
    assert sample['img'].shape[:2] == sample['ori_shape']
    assert len(sample['gt_bboxes']) == len(sample['gt_masks']) >= 1


# ------------------------------------------------------------------ ADE20K
def test_ade20k_labels_and_mmseg_loading(small_data_cwd):
    from mmseg.datasets import ADE20KDataset
    classes = ADE20KDataset.METAINFO['classes']
    for label, name in ADE20K_NAMES.items():
        assert classes[label - 1].strip() == name
    assert set(ADE20K_LABELS.values()) == set(ADE20K_NAMES)
    root = osp.join(small_data_cwd, 'data', 'small', 'ade',
                    'ADEChallengeData2016')
    dataset = _build('mmseg', dict(
        type='ADE20KDataset', data_root=root,
        data_prefix=dict(img_path='images/validation',
                         seg_map_path='annotations/validation'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')]))
    assert len(dataset) == 16 and dataset.reduce_zero_label
    maps = [dataset[i]['gt_seg_map'] for i in range(len(dataset))]
    assert maps[0].shape == dataset[0]['img'].shape[:2]
    values = set(np.unique(np.concatenate([m.ravel() for m in maps])))
    # label 0 ("other") becomes 255 (ignored); 1..150 become 0..149
    assert values == {v - 1 for v in ADE20K_LABELS.values()} | {255}


# ------------------------------------------------------------------ Cityscapes
def test_cityscapes_labels_and_mmseg_loading(small_data_cwd):
    from mmseg.datasets import CityscapesDataset
    classes = CityscapesDataset.METAINFO['classes']
    for train_id, name in CITYSCAPES_NAMES.items():
        assert classes[train_id] == name
    root = osp.join(small_data_cwd, 'data', 'small', 'cityscapes')
    dataset = _build('mmseg', dict(
        type='CityscapesDataset', data_root=root,
        data_prefix=dict(img_path='leftImg8bit/val',
                         seg_map_path='gtFine/val'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')]))
    assert len(dataset) == 8
    sample = dataset[0]
    assert sample['img'].shape[:2] == (256, 512)
    # labelIds and labelTrainIds agree through the official id table
    train_ids = sample['gt_seg_map']
    label_ids = cv2.imread(
        sample['seg_map_path'].replace('labelTrainIds', 'labelIds'),
        cv2.IMREAD_UNCHANGED)
    for train_id, label_id in CITYSCAPES_LABELS.values():
        assert np.array_equal(train_ids == train_id, label_ids == label_id)


# ------------------------------------------------------------------ ImageNet
def test_imagenet_synsets_and_mmpretrain_loading(small_data_cwd):
    import timm.data
    synsets = timm.data.ImageNetInfo().label_names()
    for wnid, label, _, _ in IMAGENET_CLASSES:
        assert synsets[label] == wnid
    root = osp.join(small_data_cwd, 'data', 'small', 'imagenet')
    for split, count in (('train', 400), ('val', 100)):
        dataset = _build('mmpretrain', dict(
            type='ImageNet', data_root=root, split='', ann_file=f'meta/{split}.txt',
            data_prefix=split, pipeline=[dict(type='LoadImageFromFile')]))
        assert len(dataset) == count
        labels = [dataset.get_gt_labels()[i] for i in range(count)]
        assert sorted(set(labels)) == list(range(10))
    with open(osp.join(root, 'meta', 'train.txt')) as f:
        first = f.readline().split()
    assert first[0] == 'n01440764/n01440764_00001.JPEG' and first[1] == '0'
    assert osp.isfile(osp.join(root, 'train', first[0]))


# ------------------------------------------------------------------ Kinetics
def test_kinetics_videos_and_mmaction_loading(small_data_cwd):
    import decord
    # the first five Kinetics-400 classes, in the official label order
    assert [c[0] for c in KINETICS_CLASSES] == [
        'abseiling', 'air drumming', 'answering questions', 'applauding',
        'applying cream']
    assert [c[1] for c in KINETICS_CLASSES] == list(range(5))
    root = osp.join(small_data_cwd, 'data', 'small', 'kinetics400')
    dataset = _build('mmaction', dict(
        type='VideoDataset',
        ann_file=osp.join(root, 'kinetics400_val_list_videos.txt'),
        data_prefix=dict(video=osp.join(root, 'videos_val')),
        pipeline=[dict(type='DecordInit'),
                  dict(type='SampleFrames', clip_len=8, frame_interval=4,
                       num_clips=1, test_mode=True),
                  dict(type='DecordDecode')],
        test_mode=True))
    assert len(dataset) == 20
    sample = dataset[0]
    assert sample['total_frames'] == 32
    assert len(sample['imgs']) == 8 and sample['imgs'][0].shape == (72, 96, 3)
    reader = decord.VideoReader(sample['filename'])
    assert len(reader) == 32


def test_kinetics_classes_differ_only_by_motion(tmp_path):
    """Per class, the mean frame looks alike; the frame-to-frame motion does not."""
    import decord
    from visrep.datasets.synthetic import make_kinetics400
    make_kinetics400(str(tmp_path), num_train_per_class=6, num_val_per_class=0)
    root = tmp_path / 'kinetics400'
    lines = (root / 'kinetics400_train_list_videos.txt').read_text().split('\n')
    drift = {}
    for line in filter(None, lines):
        path, label = line.split()
        frames = decord.VideoReader(str(root / 'videos_train' / path))
        clip = frames.get_batch(range(32)).asnumpy().astype(np.float32)
        changed = np.abs(clip[1:] - clip[:-1]).sum(-1)  # (31, H, W)
        rows = np.arange(clip.shape[1])[None, :, None]
        centre_y = (changed * rows).sum((1, 2)) / changed.sum((1, 2))
        drift.setdefault(int(label), []).append(centre_y[-8:].mean() -
                                                centre_y[:8].mean())
    down, up = np.mean(drift[0]), np.mean(drift[1])
    assert down > 10 and up < -10  # 'abseiling' moves down, 'air drumming' up


# ------------------------------------------------------------------ all
def _tree_digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            digest.update(name.encode())
            with open(osp.join(folder, name), 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def test_generation_is_deterministic(tmp_path):
    make_imagenet(str(tmp_path / 'a'), num_train_per_class=2,
                  num_val_per_class=1, seed=3)
    make_imagenet(str(tmp_path / 'b'), num_train_per_class=2,
                  num_val_per_class=1, seed=3)
    assert _tree_digest(tmp_path / 'a') == _tree_digest(tmp_path / 'b')


def test_converter_cli_shows_progress(tmp_path):
    from _helpers import run_tool
    # a stray file makes the target non-empty: only --force writes there
    (tmp_path / 'data' / 'coco').mkdir(parents=True)
    (tmp_path / 'data' / 'coco' / 'notes.txt').write_text('mine')
    proc = run_tool(['tools/dataset_converters/make_small_datasets.py',
                     '--out', str(tmp_path / 'data'), '--force', 'coco'],
                    cwd=str(tmp_path), timeout=300)
    assert 'coco train: 100%' in proc.stdout and '48/48' in proc.stdout
    data = json.load(open(tmp_path / 'data' / 'coco' / 'annotations' /
                          'instances_train2017.json'))
    assert len(data['images']) == 48
    marker = tmp_path / 'data' / 'coco' / MARKER
    assert 'generated small set' in marker.read_text()
    check_target(str(tmp_path / 'data' / 'coco'))  # ours now: regenerable
    bad = run_tool(['tools/dataset_converters/make_small_datasets.py', 'cocoa'],
                   cwd=str(tmp_path), check=False, timeout=300)
    assert bad.returncode == 2 and "unknown datasets ['cocoa']" in bad.stdout


def test_every_dataset_has_a_generator():
    assert sorted(GENERATORS) == ['ade20k', 'cityscapes', 'coco',
                                  'imagenet', 'imagenet_captions',
                                  'kinetics400', 'pascal_context']


# ------------------------------------------------------------- data safety
def _real_looking_coco(root):
    """A tiny stand-in for a user's real COCO: the real file names."""
    files = {
        'annotations/instances_train2017.json': b'{"real": true}',
        'annotations/instances_val2017.json': b'{"real": true}',
        'val2017/000000000139.jpg': b'real jpeg bytes',
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (1e9, 1e9))
    return {rel: (root / rel).read_bytes() for rel in files}


def _snapshot(root):
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime)
            for p in sorted(root.rglob('*')) if p.is_file()}


def test_symlinked_real_data_stays_untouched(tmp_path, monkeypatch, capsys):
    """data/ links to the real datasets: nothing is written through it."""
    import runpy
    from _helpers import REPO_ROOT
    real = tmp_path / 'datasets'
    _real_looking_coco(real / 'coco')
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'data').symlink_to(real, target_is_directory=True)
    before = _snapshot(real)
    monkeypatch.chdir(work)
    monkeypatch.setattr('sys.argv', ['make_small_datasets.py'])  # defaults
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(osp.join(REPO_ROOT, 'tools', 'dataset_converters',
                                'make_small_datasets.py'),
                       run_name='__main__')
    assert exit_info.value.code == 2
    output = capsys.readouterr().err
    assert "'data' is a symbolic link" in output and '--force' in output
    assert 'data/small/' in output.replace(os.sep, '/')
    # the old layout (--out data) is refused in-process, through the link
    for name in ('coco', 'imagenet'):
        with pytest.raises(UnsafeTargetError, match='symbolic link'):
            check_target(osp.join(str(work / 'data'), DATASET_DIRS[name]))
    assert _snapshot(real) == before
    assert not (real / 'small').exists()


def test_non_empty_foreign_directory_is_refused(tmp_path):
    target = tmp_path / 'coco'
    _real_looking_coco(target)
    with pytest.raises(UnsafeTargetError) as err:
        check_target(str(target))
    assert str(target) in str(err.value) and '--force' in str(err.value)
    assert 'not empty' in str(err.value)
    check_target(str(target), force=True)  # the user insists
    check_target(str(tmp_path / 'fresh'))  # missing or empty: fine
    (tmp_path / 'empty').mkdir()
    check_target(str(tmp_path / 'empty'))
