"""The class-weighted loss is PyTorch's weighted-mean cross-entropy, also
under OHEM pixel weights; mmseg 1.2.2's CrossEntropyLoss cannot do it."""
import pytest
import torch
from torch import nn

from visrep.projects.dnl import ClassWeightedCrossEntropyLoss

WEIGHTS = [0.5, 1.0, 2.0, 1.5]


def _data():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 5, 6, generator=g)
    label = torch.randint(0, 4, (2, 5, 6), generator=g)
    label[0, :2] = 255
    return logits, label


def test_equals_torch_weighted_mean():
    logits, label = _data()
    loss = ClassWeightedCrossEntropyLoss(WEIGHTS, loss_weight=0.4)
    expected = nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS),
                                   ignore_index=255)(logits, label)
    torch.testing.assert_close(loss(logits, label), 0.4 * expected)


def test_pixel_weights_restrict_the_mean_to_kept_pixels():
    logits, label = _data()
    keep = (torch.rand(label.shape, generator=torch.Generator().manual_seed(1))
            > 0.5).float()
    kept_label = torch.where(keep.bool(), label, torch.full_like(label, 255))
    expected = nn.CrossEntropyLoss(weight=torch.tensor(WEIGHTS),
                                   ignore_index=255)(logits, kept_label)
    loss = ClassWeightedCrossEntropyLoss(WEIGHTS)
    torch.testing.assert_close(loss(logits, label, weight=keep), expected)
    per_pixel = loss(logits, label, reduction_override='none')
    assert per_pixel.shape == label.shape and (per_pixel[0, :2] == 0).all()


def test_mmseg_cross_entropy_fails_on_the_ignore_label():
    """The reason for this loss (open-mmlab/mmsegmentation#3734)."""
    from mmseg.models.losses import CrossEntropyLoss
    logits, label = _data()
    with pytest.raises(IndexError, match='255'):
        CrossEntropyLoss(class_weight=WEIGHTS)(logits, label,
                                               ignore_index=255)


def test_wrong_number_of_weights_is_named():
    logits, label = _data()
    with pytest.raises(ValueError, match='3 class weights for 4 classes'):
        ClassWeightedCrossEntropyLoss(WEIGHTS[:3])(logits, label)
