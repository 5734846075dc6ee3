"""SwinV2 facts checked where a wrong implementation would show.

* the logit-scale clamp at log(100): heads above and below it, against
  timm's ``WindowAttention`` with copied weights;
* the log-spaced CPB with an ``h != w`` window and a pretrained window that
  differs from it on each axis, so a swapped h/w normalisation shows (against
  timm and against eq. 4 written out per axis);
* the 22K->1K head map on all 1000 rows, built here from the synset facts
  and fingerprinted against the official ``data/map22kto1k.txt``;
* the extra LayerNorm of the H and G archs at mmpretrain's position
  (narrow width, stage 3 cut to 13 blocks), with copied weights.
"""
import hashlib
import math

import pytest
import torch
from mmpretrain.models.backbones import SwinTransformerV2 as MMPSwinV2
from timm.models.swin_transformer_v2 import WindowAttention as TimmAttention

from visrep.projects.swin_v2 import (SwinTransformerV2,
                                    split_swin_v2_checkpoint)
from visrep.projects.swin_v2.attention import WindowAttentionV2
from visrep.projects.swin_v2.windows import log_spaced_coords_table

#: per head: above the clamp, just above, just below, far below
LOGIT_SCALES = [math.log(250.0), math.log(100.0) + 0.3,
                math.log(100.0) - 0.3, math.log(2.0)]


def _random_weights(module: torch.nn.Module, seed: int = 0) -> None:
    """Random weights with LayerNorm gains near 1 (not near 0, which would
    make every norm's position invisible)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if 'logit_scale' in name:
                p.copy_(math.log(10.0) + 0.5 * noise)
            elif 'norm' in name and name.endswith('weight'):
                p.copy_(1.0 + 0.2 * noise)
            else:
                p.copy_(0.1 * noise)


def _attention_pair(window, pretrained, fused):
    peer = TimmAttention(32, window, 4, pretrained_window_size=pretrained)
    _random_weights(peer)
    with torch.no_grad():
        peer.logit_scale.copy_(torch.tensor(LOGIT_SCALES).view(4, 1, 1))
    ours = WindowAttentionV2(32, 4, window, pretrained, fused=fused)
    ours.load_state_dict(peer.state_dict())
    return peer.eval(), ours.eval()


@pytest.mark.parametrize('fused', [True, False], ids=['fused', 'reference'])
@pytest.mark.parametrize('window,pretrained', [
    ((4, 6), (0, 0)), ((4, 6), (3, 9)), ((6, 4), (9, 3))],
    ids=['4x6', '4x6-pre3x9', '6x4-pre9x3'])
def test_attention_equals_timm_across_the_clamp_and_unequal_windows(
        window, pretrained, fused):
    peer, ours = _attention_pair(window, pretrained, fused)
    n = window[0] * window[1]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, n, 32, generator=g)
    # a 0 / -100 mask over 3 windows, as the shifted blocks use
    mask = torch.where(torch.rand(3, n, n, generator=g) < 0.3, -100.0, 0.0)
    with torch.no_grad():
        for m in (None, mask):
            expected, got = peer(x, mask=m), ours(x, mask=m)
            assert (got - expected).abs().max() <= 1e-5 * expected.abs().max()
    # the heads above log(100) really are clamped: their scale is 100
    scale = torch.clamp(ours.logit_scale, max=math.log(100.0)).exp().flatten()
    assert scale[:2].tolist() == pytest.approx([100.0, 100.0])
    assert scale[2:].tolist() == pytest.approx(
        [math.exp(s) for s in LOGIT_SCALES[2:]])


def _eq4(offsets: torch.Tensor, span: int) -> torch.Tensor:
    """Swin V2 eq. 4 on one axis: offsets / span * 8, log-spaced."""
    x = offsets / span * 8
    return torch.sign(x) * torch.log2(x.abs() + 1) / math.log2(8)


@pytest.mark.parametrize('window,pretrained,spans', [
    ((4, 6), (0, 0), (3, 5)), ((4, 6), (3, 9), (2, 8)),
    ((6, 4), (9, 3), (8, 2))])
def test_log_spaced_table_normalises_each_axis_by_its_own_window(
        window, pretrained, spans):
    table = log_spaced_coords_table(window, pretrained)[0]
    assert table.shape == (2 * window[0] - 1, 2 * window[1] - 1, 2)
    rows = torch.arange(-(window[0] - 1), window[0], dtype=torch.float32)
    cols = torch.arange(-(window[1] - 1), window[1], dtype=torch.float32)
    for j in range(table.shape[1]):
        torch.testing.assert_close(table[:, j, 0], _eq4(rows, spans[0]))
    for i in range(table.shape[0]):
        torch.testing.assert_close(table[i, :, 1], _eq4(cols, spans[1]))


#: sha256 of microsoft/Swin-Transformer data/map22kto1k.txt (commit
#: b05e621): its 1000 rows, one per line, joined by '\n' (5191 characters)
OFFICIAL_MAP_SHA256 = \
    '4fff66d6f337db6dd0b41d1b6c863e617f9400d37892df630eecfcfa50131aab'


def _official_rows():
    """The official map from the synset facts, built as an index lookup.

    Microsoft's 21841-class list is fall11's sorted synsets with one class
    more before fall11 positions 9211 and 15730; the 1k synset n04399382
    (teddy bear) is not in it and the official map gives it the row of
    n03013580.
    """
    from timm.data import ImageNetInfo
    microsoft = []
    for i, wnid in enumerate(ImageNetInfo('imagenet-22k').label_names()):
        if i in (9211, 15730):
            microsoft.append('<extra class>')
        microsoft.append(wnid)
    row = {wnid: i for i, wnid in enumerate(microsoft)}
    row['n04399382'] = row['n03013580']
    return [row[wnid] for wnid in ImageNetInfo('imagenet-1k').label_names()]


def test_22k_to_1k_head_map_on_all_1000_rows():
    from visrep.projects.swin_v2.checkpoint import (map_22k_to_1k_rows,
                                                     map_head_22k_to_1k)
    expected = _official_rows()
    text = '\n'.join(map(str, expected))
    assert hashlib.sha256(text.encode()).hexdigest() == OFFICIAL_MAP_SHA256
    assert map_22k_to_1k_rows() == expected
    # the head itself: row c of the mapped head is 22K row expected[c]
    head = {'fc.weight': torch.arange(21841.0)[:, None].repeat(1, 2),
            'fc.bias': torch.arange(21841.0)}
    mapped = map_head_22k_to_1k(head)
    assert mapped['fc.bias'].long().tolist() == expected
    assert mapped['fc.weight'][:, 1].long().tolist() == expected


@pytest.mark.parametrize('arch', ['huge', 'giant'])
def test_extra_norm_position_equals_mmpretrain(arch):
    """H and G at a narrow width, stage 3 cut to 13 blocks (H: 2-2-13-2, G:
    2-2-13-4): the extra LayerNorm ends blocks 6 and 12 of a stage, after
    both residuals, as in mmpretrain, and nowhere else."""
    ours_zoo, peer_zoo = SwinTransformerV2.arch_zoo[arch], \
        MMPSwinV2.arch_zoo[arch]
    assert tuple(ours_zoo['depths']) == tuple(peer_zoo['depths'])
    assert ours_zoo['extra_norm_every_n_blocks'] == \
        peer_zoo['extra_norm_every_n_blocks'] == 6
    depths = list(peer_zoo['depths'])
    depths[2] = 13
    narrow = dict(embed_dims=16, depths=depths, num_heads=[1, 2, 4, 8],
                  extra_norm_every_n_blocks=6)
    # 64 px: stage maps 16, 8, 4, 2, all tiled by 2x2 windows (mmpretrain
    # gives NaN on a 1x1 window)
    peer = MMPSwinV2(arch=narrow, img_size=64, window_size=2,
                     out_indices=(0, 1, 2, 3), drop_path_rate=0.0)
    _random_weights(peer)
    peer.eval()
    ours = SwinTransformerV2(arch=dict(narrow, depths=tuple(depths)),
                             img_size=64, window_size=2,
                             out_indices=(0, 1, 2, 3), drop_path_rate=0.0)
    ours.load_state_dict(split_swin_v2_checkpoint(peer.state_dict())[0])
    ours.eval()
    extra = [(s, b) for s, stage in enumerate(ours.layers)
             for b, block in enumerate(stage.blocks)
             if block.norm3 is not None]
    assert extra == [(2, 5), (2, 11)]
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for expected, got in zip(peer(x), ours(x)):
            assert got.shape == expected.shape
            assert (got - expected).abs().max() <= 1e-4
