"""Bank-balanced masks against a direct, loop-by-loop reading of the rule."""
import math

import pytest
import torch

from visrep.projects.balanced_sparsity import (as_rows, balanced_mask, bank_nnz,
                                        layer_report, pruned_per_bank)


def reference_mask(weight, sparsity, bank_size, prev_keep=None):
    """Row by row, bank by bank: keep the B - floor(s*B) largest |w|,
    earlier index first on ties, previously pruned entries last."""
    rows = weight.reshape(weight.shape[0], -1).tolist()
    prev = None if prev_keep is None else prev_keep.reshape(
        weight.shape[0], -1).tolist()
    keep = []
    for r, row in enumerate(rows):
        out = []
        for start in range(0, len(row), bank_size):
            bank = range(start, min(start + bank_size, len(row)))
            size = len(bank)
            kept = size - math.floor(sparsity * size + 1e-9)
            ranked = sorted(bank, key=lambda i: (
                prev is not None and not prev[r][i], -abs(row[i]), i))
            chosen = set(ranked[:kept])
            out += [i in chosen for i in bank]
        keep.append(out)
    return torch.tensor(keep).reshape(weight.shape)


@pytest.mark.parametrize('shape,bank,sparsity', [
    ((16, 64), 4, 0.5),          # Linear, 2:4
    ((16, 64), 16, 0.75),
    ((8, 12, 3, 3), 9, 0.6),     # conv, one bank per 3x3 kernel
    ((8, 32, 3, 3), 32, 0.9),    # conv, banks across kernels
    ((4, 8, 5), 8, 0.3),         # Conv1d
    ((6, 96), 32, 0.29),         # 0.29 * 32 = 9.28 -> 9 pruned
])
def test_matches_the_reference_and_is_balanced(shape, bank, sparsity):
    g = torch.Generator().manual_seed(0)
    # integers: many ties, so tie-breaking is exercised
    weight = torch.randint(-3, 4, shape, generator=g).float()
    keep = balanced_mask(weight, sparsity, bank)
    assert keep.shape == weight.shape and keep.dtype == torch.bool
    assert torch.equal(keep, reference_mask(weight, sparsity, bank))
    counts = bank_nnz(keep, bank)
    assert counts.unique().tolist() == [bank - pruned_per_bank(sparsity, bank)]
    # every kept |w| >= every pruned |w| of the same bank
    w = as_rows(weight).abs().reshape(shape[0], -1, bank)
    k = as_rows(keep).reshape(shape[0], -1, bank)
    smallest_kept = w.masked_fill(~k, float('inf')).amin(-1)
    largest_pruned = w.masked_fill(k, -1).amax(-1)
    assert (smallest_kept >= largest_pruned).all()


def test_float_weights_and_realised_sparsity():
    weight = torch.randn(64, 256, generator=torch.Generator().manual_seed(1))
    for sparsity, bank, expected in [(0.75, 32, 0.75), (0.7, 4, 0.5),
                                     (0.9, 16, 14 / 16), (0.0, 8, 0.0)]:
        keep = balanced_mask(weight, sparsity, bank)
        assert 1 - keep.float().mean().item() == pytest.approx(expected)
        assert torch.equal(keep, reference_mask(weight, sparsity, bank))


def test_rounding_guard():
    assert pruned_per_bank(0.29, 100) == 29      # 0.29 * 100 = 28.999...
    assert pruned_per_bank(0.75, 4) == 3
    assert pruned_per_bank(0.7, 4) == 2           # floor, as NNI's int()
    assert pruned_per_bank(0.5, 3) == 1


def test_n_m_two_of_four():
    weight = torch.randn(32, 64, generator=torch.Generator().manual_seed(2))
    keep = balanced_mask(weight, 0.5, 4)
    groups = as_rows(keep).reshape(32, 16, 4).sum(-1)
    assert (groups == 2).all()


def test_ties_keep_the_lower_index():
    weight = torch.ones(1, 8)
    keep = balanced_mask(weight, 0.5, 4)
    assert keep.tolist() == [[True, True, False, False] * 2]
    weight = torch.tensor([[1.0, -2.0, 2.0, 0.5]])
    assert balanced_mask(weight, 0.5, 4).tolist() == [[False, True, True,
                                                       False]]


def test_previously_pruned_never_regrow():
    g = torch.Generator().manual_seed(3)
    weight = torch.randn(16, 32, generator=g)
    first = balanced_mask(weight, 0.5, 8)
    # pruned weights grow large (a model without the hook would do that)
    grown = weight.clone()
    grown[~first] = 100.0
    second = balanced_mask(grown, 0.75, 8, prev_keep=first)
    assert not (second & ~first).any()          # nested: no regrowth
    assert torch.equal(second, reference_mask(grown, 0.75, 8, first))
    assert bank_nnz(second, 8).unique().tolist() == [2]


def test_partial_bank_error_names_layer_and_fix():
    with pytest.raises(ValueError, match=r'backbone\.conv.*147.*banks of 32'
                       r'.*bank_size that divides 147.*exclude.*proportional'):
        balanced_mask(torch.randn(64, 3, 7, 7), 0.5, 32,
                      name='backbone.conv')


def test_partial_bank_proportional():
    weight = torch.randn(4, 20, generator=torch.Generator().manual_seed(4))
    keep = balanced_mask(weight, 0.5, 8, partial_bank='proportional')
    assert torch.equal(keep, reference_mask(weight, 0.5, 8))
    assert bank_nnz(keep, 8).unique().tolist() == [4]
    assert (as_rows(keep)[:, 16:].sum(1) == 2).all()   # 4-wide tail keeps 2
    report = layer_report('fc', keep, 8)
    assert report['partial_bank'] == 4 and report['balanced']
    assert report['nnz_per_bank'] == [4]
    assert report['nnz_in_partial_bank'] == [2]


@pytest.mark.parametrize('kwargs,message', [
    (dict(sparsity=1.0), r'sparsity=1\.0.*\[0, 1\)'),
    (dict(sparsity=-0.1), r'sparsity'),
    (dict(bank_size=0), r'bank_size=0'),
    (dict(partial_bank='pad'), r"partial_bank='pad'"),
])
def test_bad_arguments(kwargs, message):
    args = dict(sparsity=0.5, bank_size=4)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        balanced_mask(torch.randn(4, 8), **args)


def test_nan_and_vectors_are_refused():
    with pytest.raises(ValueError, match='1-d tensor'):
        balanced_mask(torch.randn(8), 0.5, 4, name='bias')
    weight = torch.randn(2, 8)
    weight[0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        balanced_mask(weight, 0.5, 4)


def test_large_layers_are_chunked_consistently(monkeypatch):
    import visrep.projects.balanced_sparsity.mask as mask_module
    weight = torch.randn(64, 128, generator=torch.Generator().manual_seed(5))
    whole = balanced_mask(weight, 0.75, 16)
    monkeypatch.setattr(mask_module, '_CHUNK_ELEMENTS', 300)  # 2-row chunks
    assert torch.equal(balanced_mask(weight, 0.75, 16), whole)
