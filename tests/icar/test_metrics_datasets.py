"""Kornblith-12 metrics and the iCAR datasets.

* mean-per-class accuracy equals the per-class recall averaged by hand;
* the 11-point VOC07 AP equals the VOC devkit's definition written out with
  an explicit threshold sweep (another algorithm), on random scores with
  ties and difficult (ignored) samples, and a hand-computed case;
* the image-caption list format parses, and a malformed line names the
  file, the line number and the expected format;
* ``KShotDataset`` keeps k samples of every class, reproducibly.
"""
import numpy as np
import pytest
import torch
from mmengine.dataset import BaseDataset
from mmpretrain.structures import DataSample

from visrep.projects.icar import (ImageCaptionDataset, KShotDataset,
                           MeanPerClassAccuracy, VOC07ElevenPointMAP,
                           eleven_point_ap)


def test_mean_per_class_accuracy():
    gt = [0, 0, 0, 0, 1, 1, 2]
    pred = [0, 0, 0, 1, 1, 0, 1]  # recalls 3/4, 1/2, 0
    metric = MeanPerClassAccuracy()
    metric.process(None, [
        DataSample().set_gt_label(g).set_pred_label(p).to_dict()
        for g, p in zip(gt, pred)])
    result = metric.compute_metrics(metric.results)
    assert result['accuracy'] == pytest.approx(100 * (0.75 + 0.5 + 0) / 3)


def _ap_by_thresholds(scores, targets):
    """VOC07: for t in 0..1 step 0.1, max precision over thresholds whose
    recall >= t; precision/recall at every distinct score threshold."""
    keep = targets >= 0
    scores, targets = scores[keep], targets[keep]
    npos = (targets == 1).sum()
    prec, rec = [], []
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    tp = 0
    for k, i in enumerate(order, 1):
        tp += targets[i] == 1
        prec.append(tp / k)
        rec.append(tp / npos)
    ap = 0.0
    for t in [i / 10 for i in range(11)]:
        ps = [p for p, r in zip(prec, rec) if r >= t - 1e-12]
        ap += (max(ps) if ps else 0.0) / 11
    return ap


def test_eleven_point_ap_against_a_sweep():
    # hand case: ranks P N P N, 2 positives: precision 1 at recall .5,
    # 2/3 at recall 1 -> (6 * 1 + 5 * 2/3) / 11
    assert eleven_point_ap(np.array([.9, .8, .7, .1]),
                           np.array([1, 0, 1, 0])) == pytest.approx(
                               (6 + 5 * 2 / 3) / 11)
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 8, size=40) / 8.0  # many ties
        targets = rng.choice([1, 0, 0, -1], size=40)
        targets[0] = 1
        assert eleven_point_ap(scores, targets) == pytest.approx(
            _ap_by_thresholds(scores, targets))


def test_voc07_metric_ignores_difficult_labels():
    metric = VOC07ElevenPointMAP()
    rng = np.random.default_rng(1)
    samples, scores, targets = [], [], []
    for _ in range(12):
        # VOC: gt_label holds the clear objects' classes, the difficult
        # ones (only-difficult classes are ignored) come separately
        labels = sorted(set(rng.integers(0, 3, size=2).tolist()))
        difficult = [labels.pop()] if len(labels) == 2 else []
        score = torch.rand(3, generator=torch.Generator().manual_seed(
            len(samples)))
        s = DataSample().set_gt_label(labels).set_pred_score(score)
        s.set_metainfo(dict(gt_label_difficult=difficult))
        samples.append(s.to_dict())
        t = np.zeros(3)
        t[labels] = 1
        t[difficult] = -1
        scores.append(score.numpy())
        targets.append(t)
    metric.process(None, samples)
    result = metric.compute_metrics(metric.results)
    scores, targets = np.stack(scores), np.stack(targets)
    expected = np.mean([_ap_by_thresholds(scores[:, c], targets[:, c])
                        for c in range(3) if (targets[:, c] == 1).any()])
    assert result['mAP_11point'] == pytest.approx(100 * expected)


def test_image_caption_file(tmp_path):
    ann = tmp_path / 'captions.txt'
    ann.write_text('a/1.jpg\ta red circle\n\nb/2.jpg\t  two words \n')
    ds = ImageCaptionDataset(str(ann), data_root=str(tmp_path),
                             data_prefix='images', lazy_init=False)
    assert len(ds) == 2
    info = ds.get_data_info(1)
    assert info['caption'] == 'two words' and info['gt_label'] == -1
    assert info['img_path'] == str(tmp_path / 'images' / 'b/2.jpg')
    ann.write_text('a/1.jpg a red circle\n')
    with pytest.raises(ValueError, match=r'captions.txt:1: expected'):
        ImageCaptionDataset(str(ann))
    with pytest.raises(FileNotFoundError, match='ann_file'):
        ImageCaptionDataset(str(tmp_path / 'missing.txt'))


class _Labelled(BaseDataset):
    METAINFO = dict(classes=('a', 'b', 'c'))

    def load_data_list(self):
        return [dict(gt_label=i % 3, idx=i) for i in range(30)]

    def get_cat_ids(self, idx):
        return [self.get_data_info(idx)['gt_label']]


def test_k_shot_subset():
    few = KShotDataset(_Labelled(), shots=4, seed=0)
    labels = [few.get_cat_ids(i)[0] for i in range(len(few))]
    assert len(few) == 12 and np.bincount(labels).tolist() == [4, 4, 4]
    again = KShotDataset(_Labelled(), shots=4, seed=0)
    assert again.indices == few.indices
    assert KShotDataset(_Labelled(), shots=4, seed=1).indices != few.indices
    assert few.metainfo['classes'] == ('a', 'b', 'c')
    with pytest.raises(ValueError, match='shots'):
        KShotDataset(_Labelled(), shots=0)


def test_small_imagenet_with_captions(small_data_cwd):
    import json
    import os.path as osp
    meta = osp.join(small_data_cwd, 'data', 'small', 'imagenet', 'meta')

    def rows(name):
        with open(osp.join(meta, name)) as f:
            return [line.rstrip('\n') for line in f if line.strip()]

    val = dict(r.split() for r in rows('val.txt'))
    seen = [int(r.split()[1]) for r in rows('train_seen.txt')]
    assert set(seen) == set(range(5))
    for r in rows('val_heldout.txt'):  # labels 0-4 index classes 5-9
        path, label = r.split()
        assert int(val[path]) == int(label) + 5
    captions = [r.split('\t') for r in rows('captions_train.txt')]
    assert all(len(c) == 2 and c[1] for c in captions)
    with open(osp.join(meta, 'class_descriptions.json')) as f:
        descriptions = json.load(f)
    assert len(descriptions) == 10
    # the held-out colours occur in captions, never in the seen classes
    names = list(descriptions)
    colour = {n: descriptions[n].split()[1] for n in names}
    seen_colours = {colour[n] for n in names[:5]}
    for n in names[5:]:
        assert colour[n] not in seen_colours
        assert any(f' {colour[n]} ' in f' {c} ' for _, c in captions), n
