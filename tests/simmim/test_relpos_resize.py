"""Geometric-progression resize of position-bias tables, without interp2d.

References: SciPy's ``RectBivariateSpline(kx=3, ky=3, s=0)`` (FITPACK's
interpolating bicubic spline, which ``interp2d(kind='cubic')`` fitted on a
grid and evaluated with clamping) and ``CubicSpline(bc_type='not-a-knot')``
applied per axis; plus the official offsets computed directly.
"""
import numpy as np
import pytest
import torch
from scipy.interpolate import CubicSpline, RectBivariateSpline

from visrep.models.relpos import cubic_spline_weights, geometric_offsets, \
    resize_table


def _official_offsets(src, dst):
    """The official bisection and progression, written out directly."""
    left, right = 1.01, 1.5
    while right - left > 1e-6:
        q = (left + right) / 2.0
        if (1.0 - q**(src // 2)) / (1.0 - q) > dst // 2:
            right = q
        else:
            left = q
    dis = [sum(q**j for j in range(i + 1)) for i in range(src // 2)]
    return [-d for d in dis[::-1]] + [0] + dis, list(
        np.arange(-(dst // 2), dst // 2 + 0.1, 1.0))


@pytest.mark.parametrize('src,dst', [(11, 13), (23, 27), (13, 11), (7, 9),
                                     (5, 7), (27, 23)])
def test_offsets_match_the_official_rule(src, dst):
    source, target = geometric_offsets(src, dst)
    ref_source, ref_target = _official_offsets(src, dst)
    np.testing.assert_allclose(source, ref_source, rtol=1e-12)
    np.testing.assert_array_equal(target, ref_target)


@pytest.mark.parametrize('src,dst', [(11, 13), (23, 27), (13, 11), (5, 7),
                                     (5, 9)])
def test_bicubic_matches_fitpack(src, dst):
    rng = np.random.default_rng(src * 100 + dst)
    z = rng.standard_normal((src, src))
    x, t = geometric_offsets(src, dst)
    reference = RectBivariateSpline(x, x, z, kx=3, ky=3, s=0)(t, t)
    table = torch.tensor(z, dtype=torch.float64).reshape(-1, 1)
    ours = resize_table(table, src, dst)[:, 0].reshape(dst, dst)
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-12)


def test_spline_is_not_a_knot_and_interpolates():
    nodes = [-5.2, -2.0, -1.0, 0.0, 1.0, 2.0, 5.2]
    points = np.linspace(-5.2, 5.2, 23)
    weights = cubic_spline_weights(nodes, points)
    y = np.random.default_rng(0).standard_normal(len(nodes))
    expected = CubicSpline(nodes, y, bc_type='not-a-knot')(points)
    np.testing.assert_allclose(weights.numpy() @ y, expected, atol=1e-12)
    # at the nodes it is the identity; cubics are reproduced exactly
    np.testing.assert_allclose(cubic_spline_weights(nodes, nodes).numpy(),
                               np.eye(len(nodes)), atol=1e-12)
    cubic = np.array(nodes)**3 - 2 * np.array(nodes)
    np.testing.assert_allclose(weights.numpy() @ cubic, points**3 - 2 * points,
                               atol=1e-9)


def test_points_beyond_the_nodes_are_clamped_like_fitpack():
    weights = cubic_spline_weights([-2., -1., 0., 1., 2.], [-3., 2.5])
    np.testing.assert_allclose(weights.numpy(), [[1, 0, 0, 0, 0],
                                                 [0, 0, 0, 0, 1]], atol=1e-12)


def test_extra_tokens_heads_dtype_and_identity():
    torch.manual_seed(0)
    table = torch.randn(11 * 11 + 3, 4)
    out = resize_table(table, 11, 13, num_extra_tokens=3)
    assert out.shape == (13 * 13 + 3, 4) and out.dtype == torch.float32
    torch.testing.assert_close(out[-3:], table[-3:])
    # each head is resized on its own
    single = resize_table(table[:-3, 2:3], 11, 13)
    torch.testing.assert_close(out[:-3, 2:3], single)
    assert resize_table(table, 11, 11, 3) is table


def test_non_square_tables_resize_axis_by_axis():
    torch.manual_seed(0)
    table = torch.randn(7 * 11, 2, dtype=torch.float64)
    out = resize_table(table, (7, 11), (9, 13))
    grid = table.T.reshape(2, 7, 11)
    wh = cubic_spline_weights(*geometric_offsets(7, 9))
    ww = cubic_spline_weights(*geometric_offsets(11, 13))
    torch.testing.assert_close(out.T.reshape(2, 9, 13), wh @ grid @ ww.T)


def test_too_small_or_inconsistent_tables_are_refused():
    with pytest.raises(ValueError, match='at least 4 nodes'):
        resize_table(torch.zeros(9, 1), 3, 5)
    with pytest.raises(ValueError, match='rows'):
        resize_table(torch.zeros(10, 1), 3, 5)
