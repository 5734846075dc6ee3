"""SimMIM loss against direct computations on hand-made examples."""
import pytest
import torch

from visrep.projects.simmim import SimMIMHead, normalize_targets


def test_loss_on_a_hand_made_example():
    # one image, 2 channels, 4x4 pixels, patch 2 -> 2x2 tokens; the
    # top-left and bottom-right tokens are masked (8 pixels, 16 values)
    target = torch.zeros(1, 2, 4, 4)
    pred = torch.zeros(1, 2, 4, 4)
    pred[0, 0, :2, :2] = 1.0      # masked token: |error| 1 on channel 0
    pred[0, 1, 2:, 2:] = -3.0     # masked token: |error| 3 on channel 1
    pred[0, :, :2, 2:] = 100.0    # unmasked token: must not count
    mask = torch.tensor([[[1, 0], [0, 1]]])
    loss = SimMIMHead(patch_size=2).loss(pred, target, mask)
    # sum |e| * m = 4 * 1 + 4 * 3 = 16; mask.sum() = 8 pixels; C = 2
    assert loss.item() == pytest.approx(16 / (8 + 1e-5) / 2, rel=1e-6)


def test_loss_equals_the_official_formula_on_random_data():
    torch.manual_seed(0)
    pred, target = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    mask = (torch.rand(3, 8, 8) > 0.4).long()
    loss = SimMIMHead(patch_size=4).loss(pred, target, mask)
    pixel = torch.zeros(3, 1, 32, 32)
    for b in range(3):
        for i in range(8):
            for j in range(8):
                pixel[b, 0, 4 * i:4 * i + 4, 4 * j:4 * j + 4] = mask[b, i, j]
    direct = ((pred - target).abs() * pixel).sum() / (pixel.sum() + 1e-5) / 3
    torch.testing.assert_close(loss, direct)


def test_normalized_target_is_local_mean_and_unbiased_std():
    torch.manual_seed(0)
    images = torch.randn(1, 1, 9, 9)
    out = normalize_targets(images, kernel=5)
    for (y, x) in [(0, 0), (4, 4), (8, 2), (1, 7)]:
        window = images[0, 0, max(0, y - 2):y + 3, max(0, x - 2):x + 3]
        mean, var = window.mean(), window.var(unbiased=True)
        expected = (images[0, 0, y, x] - mean) / (var + 1e-6).sqrt()
        assert out[0, 0, y, x].item() == pytest.approx(expected.item(),
                                                       rel=1e-4, abs=1e-5)


def test_norm_target_switch_changes_only_the_target():
    torch.manual_seed(1)
    pred, image = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    mask = torch.ones(2, 4, 4, dtype=torch.long)
    head = SimMIMHead(patch_size=4, norm_target=True, norm_target_kernel=7)
    expected = SimMIMHead(patch_size=4).loss(
        pred, normalize_targets(image, 7), mask)
    torch.testing.assert_close(head.loss(pred, image, mask), expected)


def test_shape_errors_are_explained():
    head = SimMIMHead(patch_size=4)
    with pytest.raises(ValueError, match='decoder stride'):
        head.loss(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 16, 16),
                  torch.ones(1, 4, 4))
    with pytest.raises(ValueError, match='model_patch_size'):
        head.loss(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16),
                  torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match='odd'):
        SimMIMHead(patch_size=4, norm_target=True, norm_target_kernel=4)
