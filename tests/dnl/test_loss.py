"""The DNL segmentation losses are the official ones, checked against direct
formulas: the main head's OHEM loss keeps the pixels the official
``OhemCELoss`` keeps and takes their plain mean ``sum(w_y l) / N_kept``; the
DSN head's is PyTorch's weighted mean ``sum(w_y l) / sum(w_y)`` over the
non-ignored pixels; ``mean='class_weight'`` switches the main head to the
latter.  mmseg 1.2.2's CrossEntropyLoss cannot compute either."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import nn

import visrep  # noqa: F401  (registers the visrep.* types)
from visrep.projects.dnl import ClassWeightedCrossEntropyLoss
from _helpers import REPO_ROOT

WEIGHTS = [0.5, 1.0, 2.0, 1.5]
CITYSCAPES = 'dnl-official_r101-d8_4xb2-60k_cityscapes-769x769.py'
ADE20K = 'dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py'
IGNORE = 255


def _data():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=g)
    label = torch.randint(0, 4, (2, 5, 6), generator=g)
    label[0, :2] = IGNORE
    return logits, label


def _seg_batch(classes: int, seed: int = 0):
    """Logits with confident and unsure pixels and labels with ignored ones."""
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(2, classes, 12, 10, generator=g)
    label = torch.randint(0, classes, (2, 12, 10), generator=g)
    right = torch.rand(label.shape, generator=g) < 0.5
    label = torch.where(right, logits.argmax(1), label)
    label[0, :3] = IGNORE
    label[1, :, :2] = IGNORE
    return logits, label


def _ohem_reference(logits, label, thresh, min_kept, class_weight=None):
    """Direct formula of the official OhemCELoss selection, in numpy.

    Returns ``(kept per-pixel w_y l, kept w_y)``: the pixels whose true-class
    probability is below ``max(thresh, sorted_p[min(min_kept * N, n - 1)])``.
    """
    x = logits.double().numpy().transpose(0, 2, 3, 1).reshape(
        -1, logits.shape[1])
    y = label.numpy().reshape(-1)
    valid = y != IGNORE
    x, y = x[valid], y[valid]
    log_p = x - x.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    log_p_true = log_p[np.arange(len(y)), y]
    p_sorted = np.sort(np.exp(log_p_true))
    k = min(min_kept * logits.shape[0], len(p_sorted) - 1)
    threshold = max(p_sorted[k], thresh)
    keep = np.exp(log_p_true) < threshold
    w = np.ones(logits.shape[1]) if class_weight is None else \
        np.asarray(class_weight)
    return -w[y[keep]] * log_p_true[keep], w[y[keep]]


def _head(config: str, name: str, **sampler):
    """The config's head, narrow (its loss and sampler unchanged)."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'dnl', config))
    head = cfg.model[name]
    head.update(in_channels=16, channels=8, norm_cfg=dict(type='BN'))
    if sampler:
        head.sampler.update(sampler)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(head)


def _head_loss(head, logits, label):
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lab[None]))
               for lab in label]
    return head.loss_by_feat(logits, samples)['loss_ce']


# 144 of the 186 valid pixels have p_y < 0.7: thresh decides at min_kept 5;
# min_kept decides at 80 (80 * N = 160 > 144, 80 alone would not)
@pytest.mark.parametrize('min_kept,n_kept', [(5, 144), (80, 160)])
def test_cityscapes_main_head_is_the_official_ohem_loss(min_kept, n_kept):
    head = _head(CITYSCAPES, 'decode_head', min_kept=min_kept)
    weights = head.loss_decode.class_weight
    logits, label = _seg_batch(19)
    losses, kept_w = _ohem_reference(logits, label, 0.7, min_kept, weights)
    assert len(losses) == n_kept and (label != IGNORE).sum() == 186
    loss = _head_loss(head, logits, label)
    official = losses.sum() / len(losses)
    assert loss.item() == pytest.approx(official, rel=1e-5)
    # the weighted-mean switch: sum(w_y l) / sum(w_y), a different number
    head.loss_decode.mean = 'class_weight'
    switched = _head_loss(head, logits, label).item()
    assert switched == pytest.approx(losses.sum() / kept_w.sum(), rel=1e-5)
    assert not math.isclose(switched, official, rel_tol=1e-3)


def test_ade20k_main_head_averages_over_the_kept_pixels_only():
    head = _head(ADE20K, 'decode_head', min_kept=5)
    assert head.loss_decode.class_weight is None
    logits, label = _seg_batch(150)
    losses, _ = _ohem_reference(logits, label, 0.7, 5)
    assert 0 < len(losses) < (label != IGNORE).sum()
    loss = _head_loss(head, logits, label)
    assert loss.item() == pytest.approx(losses.mean(), rel=1e-5)


@pytest.mark.parametrize('config,classes', [(CITYSCAPES, 19), (ADE20K, 150)])
def test_dsn_head_is_plain_weighted_cross_entropy(config, classes):
    """No OHEM and PyTorch's mean over the non-ignored pixels, times 0.4."""
    head = _head(config, 'auxiliary_head')
    assert head.sampler is None
    logits, label = _seg_batch(classes)
    weights = head.loss_decode.class_weight
    expected = nn.CrossEntropyLoss(
        weight=None if weights is None else torch.tensor(weights),
        ignore_index=IGNORE)(logits, label)
    torch.testing.assert_close(_head_loss(head, logits, label),
                               0.4 * expected)


def test_class_weight_mean_equals_torch_weighted_mean():
    logits, label = _data()
    loss = ClassWeightedCrossEntropyLoss(WEIGHTS, loss_weight=0.4)
    expected = nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS),
                                   ignore_index=IGNORE)(logits, label)
    torch.testing.assert_close(loss(logits, label), 0.4 * expected)


def test_pixel_weights_restrict_both_means_to_kept_pixels():
    logits, label = _data()
    keep = (torch.rand(label.shape, generator=torch.Generator().manual_seed(1))
            > 0.5).float()
    kept_label = torch.where(keep.bool(), label, torch.full_like(label,
                                                                 IGNORE))
    weighted = nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS),
                                   ignore_index=IGNORE,
                                   reduction='none')(logits, kept_label)
    n_kept = (kept_label != IGNORE).sum()
    torch.testing.assert_close(
        ClassWeightedCrossEntropyLoss(WEIGHTS, mean='kept_pixels')(
            logits, label, weight=keep), weighted.sum() / n_kept)
    torch.testing.assert_close(
        ClassWeightedCrossEntropyLoss(WEIGHTS)(logits, label, weight=keep),
        nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS),
                            ignore_index=IGNORE)(logits, kept_label))
    per_pixel = ClassWeightedCrossEntropyLoss(WEIGHTS)(
        logits, label, reduction_override='none')
    assert per_pixel.shape == label.shape and (per_pixel[0, :2] == 0).all()


def test_no_kept_pixel_gives_zero():
    """The official OhemCELoss returns the empty sum."""
    logits, label = _data()
    loss = ClassWeightedCrossEntropyLoss(WEIGHTS, mean='kept_pixels')(
        logits, label, weight=torch.zeros(label.shape))
    assert loss.item() == 0.0


def test_mmseg_cross_entropy_fails_on_the_ignore_label():
    """The reason for this loss (open-mmlab/mmsegmentation#3734)."""
    from mmseg.models.losses import CrossEntropyLoss
    logits, label = _data()
    with pytest.raises(IndexError, match='255'):
        CrossEntropyLoss(class_weight=WEIGHTS)(logits, label,
                                               ignore_index=IGNORE)


def test_wrong_number_of_weights_is_named():
    logits, label = _data()
    with pytest.raises(ValueError, match='3 class weights for 4 classes'):
        ClassWeightedCrossEntropyLoss(WEIGHTS[:3])(logits, label)


def test_unknown_mean_is_named():
    with pytest.raises(ValueError, match="mean='pixels'.*kept_pixels"):
        ClassWeightedCrossEntropyLoss(WEIGHTS, mean='pixels')
