"""SimMIM mask generator: exact counts, whole cells, upsampling to tokens."""
import math

import numpy as np
import pytest

from visrep.projects.simmim import SimMIMMaskGenerator


@pytest.mark.parametrize('size,cell,patch,ratio,cells,masked,tokens', [
    (192, 32, 4, 0.6, 36, 22, 48),   # Swin, official defaults
    (224, 32, 16, 0.6, 49, 30, 14),  # ViT-B/16 (reference: 30 of 7x7)
    (64, 16, 4, 0.6, 16, 10, 16),    # our small-data setting
    (96, 32, 4, 0.5, 9, 5, 24),      # ceil(4.5) = 5, not a Bernoulli draw
])
def test_exact_count_and_token_grid(size, cell, patch, ratio, cells, masked,
                                    tokens):
    generator = SimMIMMaskGenerator(size, cell, patch, ratio)
    assert generator.cell_count == cells
    assert generator.mask_count == masked == math.ceil(cells * ratio)
    np.random.seed(0)
    for _ in range(20):
        mask = generator.transform({})['mask']
        assert mask.shape == (tokens, tokens)
        scale = cell // patch
        # every masked cell is a whole scale x scale block of tokens
        blocks = mask.reshape(tokens // scale, scale, tokens // scale, scale)
        assert (blocks.min(axis=(1, 3)) == blocks.max(axis=(1, 3))).all()
        assert blocks[:, 0, :, 0].sum() == masked
        assert mask.sum() == masked * scale * scale


def test_upsampling_is_repeat_of_the_cell_grid():
    generator = SimMIMMaskGenerator(64, 32, 8, 0.5)  # 2x2 cells, x4 repeat
    np.random.seed(3)
    mask = generator.generate()
    cells = mask[::4, ::4]
    assert cells.sum() == 2
    expected = np.kron(cells, np.ones((4, 4), dtype=int))
    np.testing.assert_array_equal(mask, expected)


def test_draws_differ_and_follow_numpy_seed():
    generator = SimMIMMaskGenerator(192, 32, 4, 0.6)
    np.random.seed(0)
    a, b = generator.generate(), generator.generate()
    assert not np.array_equal(a, b)
    np.random.seed(0)
    np.testing.assert_array_equal(a, generator.generate())


def test_non_square_input():
    generator = SimMIMMaskGenerator((64, 128), 32, 4, 0.6)
    assert generator.cell_count == 8 and generator.mask_count == 5
    mask = generator.generate()
    assert mask.shape == (16, 32) and mask.sum() == 5 * 64


@pytest.mark.parametrize('kwargs,field', [
    (dict(input_size=100), 'input_size'),
    (dict(mask_patch_size=24, model_patch_size=5), 'model_patch_size'),
    (dict(mask_ratio=1.5), 'mask_ratio'),
])
def test_bad_arguments_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SimMIMMaskGenerator(**kwargs)
