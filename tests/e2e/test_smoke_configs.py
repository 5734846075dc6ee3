"""Each smoke config trains and evaluates through tools/train.py and beats chance.

Then tools/test.py evaluates the saved checkpoint: where the test pipeline
equals the validation one the metrics must be identical (the checkpoint
round-trips), otherwise they must beat chance too.  The tools' processes keep
freed memory for reuse (:func:`_helpers.runs.keep_freed_memory`).
"""
import glob
import os
import os.path as osp
import resource
import subprocess
import sys

import cv2
import numpy as np
import pytest

from _helpers import REPO_ROOT, read_val_metrics, train_and_test
from _helpers.runs import KEEP_FREED_MEMORY_ENV

pytestmark = pytest.mark.e2e


def constant_prediction_miou(label_glob: str, num_classes: int,
                             reduce_zero_label: bool) -> float:
    """mIoU (%) of predicting the most frequent class everywhere.

    mmseg averages IoU over classes present in prediction or ground truth;
    predicting class c everywhere gives IoU_c = frequency of c and 0 for
    every other present class.
    """
    counts = np.zeros(num_classes, np.int64)
    for path in glob.glob(label_glob):
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED).astype(np.int64)
        if reduce_zero_label:
            label = np.where(label == 0, 255, label - 1)
        valid = label[label != 255]
        counts += np.bincount(valid, minlength=num_classes)
    assert counts.sum() > 0, label_glob
    return 100.0 * counts.max() / counts.sum() / np.count_nonzero(counts)


#: a block above glibc's largest dynamic mmap threshold (32 MiB)
BLOCK = 64 * 2**20
#: page faults of allocating, zero-filling and freeing :data:`BLOCK` five
#: times after a first time (printed)
REUSE_FAULTS = f"""
import resource
bytearray({BLOCK})
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    bytearray({BLOCK})
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def reuse_faults(env: dict) -> int:
    """:data:`REUSE_FAULTS` in a new process with ``env``."""
    run = subprocess.run([sys.executable, '-c', REUSE_FAULTS], env=env,
                         capture_output=True, text=True, check=True)
    return int(run.stdout)


def test_tools_reuse_freed_memory():
    """glibc's default unmaps a freed large block, and its next allocation
    faults every page in again; the processes the tests start keep the
    block for reuse instead."""
    pages = BLOCK // resource.getpagesize()
    default = {k: v for k, v in os.environ.items()
               if k not in KEEP_FREED_MEMORY_ENV}
    assert reuse_faults(default) > 4 * pages
    assert reuse_faults(dict(os.environ)) < pages // 10


def _train_and_test(config: str, cwd: str, work_dir: str):
    config = osp.join(REPO_ROOT, 'configs', 'smoke', config)
    test = train_and_test(config, cwd, work_dir)
    return read_val_metrics(work_dir), test


def test_mask_rcnn_small_coco(small_data_cwd, tmp_path):
    val, test = _train_and_test('mask-rcnn_r18_fpn_small-coco.py',
                                small_data_cwd, str(tmp_path / 'coco'))
    # chance (random boxes) is mAP ~0.000
    assert val['coco/bbox_mAP'] > 0.05, val
    assert val['coco/segm_mAP'] > 0.05, val
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_50'):
        assert test[key] == pytest.approx(val[key]), (test, val)


@pytest.mark.parametrize('config,labels,num_classes,reduce_zero_label', [
    ('fcn_r18-d8_small-ade20k.py',
     'data/small/ade/ADEChallengeData2016/annotations/validation/*.png', 150,
     True),
    ('fcn_r18-d8_small-cityscapes.py',
     'data/small/cityscapes/gtFine/val/*/*_labelTrainIds.png', 19, False),
], ids=['ade20k', 'cityscapes'])
def test_fcn_small_segmentation(config, labels, num_classes,
                                reduce_zero_label, small_data_cwd, tmp_path):
    val, test = _train_and_test(config, small_data_cwd, str(tmp_path / 'seg'))
    baseline = constant_prediction_miou(
        osp.join(small_data_cwd, labels), num_classes, reduce_zero_label)
    assert val['mIoU'] > baseline + 10, (val, baseline)
    assert test['mIoU'] == pytest.approx(val['mIoU']), (test, val)


def test_resnet_small_imagenet(small_data_cwd, tmp_path):
    val, test = _train_and_test('resnet18_small-imagenet.py', small_data_cwd,
                                str(tmp_path / 'cls'))
    chance = 100.0 / 10  # ten synsets in the small set
    assert val['accuracy/top1'] > chance + 20, val
    assert test['accuracy/top1'] == pytest.approx(val['accuracy/top1'])


def test_slowonly_small_kinetics(small_data_cwd, tmp_path):
    val, test = _train_and_test('slowonly_r18_small-kinetics400.py',
                                small_data_cwd, str(tmp_path / 'video'))
    chance = 1 / 5  # five classes that differ only by motion
    # 20 validation clips: >= 9 right has p < 0.01 under chance
    assert val['acc/top1'] >= 0.45, val
    # the test pipeline averages 2 clips x 3 crops
    assert test['acc/top1'] > chance, test
