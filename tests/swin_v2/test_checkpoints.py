"""Official, timm, mmpretrain and our checkpoints load; mismatches are errors."""
import math

import pytest
import timm
import torch
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.models.backbones import SwinTransformerV2 as MMPSwinV2

from visrep.checkpoint import (CheckpointMismatchError,
                               official_to_unfold_reduction,
                               unfold_to_official_reduction)
from visrep.projects.swin_v2 import (SwinTransformerV2,
                                    split_swin_v2_checkpoint)
from visrep.projects.swin_v2.checkpoint import detect_layout
from visrep.projects.swin_v2.windows import (log_spaced_coords_table,
                                      relative_position_index,
                                      shift_attention_mask)
from _helpers import run_tool

ARCH = dict(embed_dims=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8))
WINDOW = 4
SIZE = 64  # stage maps 16, 8, 4, 2


def _randomised(**kwargs):
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW, **kwargs)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def _official_checkpoint(model, num_classes=10):
    """Our weights written the way the official training code saves them."""
    sd = {}
    for k, v in model.state_dict().items():
        sd[k.replace('norm3.', 'norm.') if k.startswith('norm3.') else k] = v
    for i, stage in enumerate(model.layers):
        for j, block in enumerate(stage.blocks):
            base = f'layers.{i}.blocks.{j}.'
            window = block.window_size[0]
            sd[base + 'attn.relative_coords_table'] = log_spaced_coords_table(
                (window, window), (0, 0))
            sd[base + 'attn.relative_position_index'] = \
                relative_position_index((window, window))
            if any(block.shift_size) and SIZE // 4 // 2**i > window:
                side = SIZE // 4 // 2**i
                sd[base + 'attn_mask'] = shift_attention_mask(
                    (side, side), (window, window), block.shift_size)
    g = torch.Generator().manual_seed(2)
    sd['head.weight'] = torch.randn(num_classes, model.num_features[-1],
                                    generator=g)
    sd['head.bias'] = torch.randn(num_classes, generator=g)
    return {'model': sd, 'epoch': 299, 'max_accuracy': 81.8}


def _classifier(num_classes=10, **backbone_kwargs):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='visrep.SwinTransformerV2', arch=ARCH,
                          window_size=WINDOW, **backbone_kwargs),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=num_classes,
                      in_channels=ARCH['embed_dims'] * 8))).eval()


def _features(backbone, x):
    with torch.no_grad():
        return backbone(x)[-1]


def test_layouts_are_detected():
    model = _randomised()
    assert detect_layout(model.state_dict()) == 'visrep'
    assert detect_layout(_official_checkpoint(model)['model']) == 'official'
    t = timm.create_model('swinv2_tiny_window8_256', num_classes=0,
                          embed_dim=32, depths=(2, 2, 2, 2),
                          num_heads=(1, 2, 4, 8), window_size=WINDOW,
                          img_size=SIZE)
    assert detect_layout(t.state_dict()) == 'timm'
    m = MMPSwinV2(arch=dict(ARCH, extra_norm_every_n_blocks=0),
                  img_size=SIZE, window_size=WINDOW)
    assert detect_layout(m.state_dict()) == 'mmpretrain'


def test_unfold_reduction_order_round_trip():
    w = torch.randn(8, 16)
    assert torch.equal(unfold_to_official_reduction(
        official_to_unfold_reduction(w)), w)
    assert not torch.equal(official_to_unfold_reduction(w), w)


def test_official_release_via_init_cfg(tmp_path):
    source = _randomised()
    path = str(tmp_path / 'official.pth')
    torch.save(_official_checkpoint(source), path)
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW, init_cfg=dict(
        type='Pretrained', checkpoint=path))
    model.init_weights()
    x = torch.randn(1, 3, SIZE, SIZE)
    assert torch.equal(_features(model.eval(), x), _features(source, x))


def test_official_release_via_load_from_into_a_classifier(tmp_path):
    """The official file, unconverted, loaded the way ``load_from`` loads."""
    source = _randomised()
    checkpoint = _official_checkpoint(source)
    path = str(tmp_path / 'official.pth')
    torch.save(checkpoint, path)
    classifier = _classifier()
    load_checkpoint(classifier, path, map_location='cpu')
    x = torch.randn(1, 3, SIZE, SIZE)
    assert torch.equal(_features(classifier.backbone, x), _features(source, x))
    assert torch.equal(classifier.head.fc.weight,
                       checkpoint['model']['head.weight'])


def test_detection_backbone_from_a_classification_checkpoint(tmp_path):
    """norm3 comes from the official final norm; norm0-2 start fresh."""
    source = _randomised()
    path = str(tmp_path / 'official.pth')
    torch.save(_official_checkpoint(source), path)
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW,
                              out_indices=(0, 1, 2, 3),
                              init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    assert torch.equal(model.norm3.weight, source.norm3.weight)
    assert torch.equal(model.norm0.weight, torch.ones_like(model.norm0.weight))


def test_timm_state_dict_via_init_cfg(tmp_path):
    peer = timm.create_model('swinv2_tiny_window8_256', num_classes=0,
                             embed_dim=32, depths=(2, 2, 2, 2),
                             num_heads=(1, 2, 4, 8), window_size=WINDOW,
                             img_size=SIZE)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in peer.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    path = str(tmp_path / 'timm.pth')
    torch.save(peer.state_dict(), path)
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW,
                              window_clip='per_axis',
                              init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    x = torch.randn(1, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = peer.eval().forward_features(x)
    assert (_features(model.eval(), x).permute(0, 2, 3, 1) -
            expected).abs().max() < 1e-5


def test_mmpretrain_classifier_checkpoint_via_load_from(tmp_path):
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        peer = MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='SwinTransformerV2',
                          arch=dict(ARCH, extra_norm_every_n_blocks=0),
                          img_size=SIZE, window_size=[4, 4, 4, 2]),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=256)))
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        for p in peer.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    peer.eval()
    path = str(tmp_path / 'mmpretrain.pth')
    torch.save({'state_dict': peer.state_dict(), 'meta': {}}, path)
    ours = _classifier()
    load_checkpoint(ours, path, map_location='cpu')
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        expected = peer(x, mode='tensor')
        got = ours(x, mode='tensor')
    assert (got - expected).abs().max() < 1e-5


def test_our_own_checkpoints_pass_through_untouched():
    model = _classifier()
    state_dict = {f'backbone.{k}': v
                  for k, v in model.backbone.state_dict().items()}
    adapted = model.backbone.adapt_state_dict(state_dict, 'backbone.', model)
    assert adapted is state_dict


def test_unmatched_keys_are_an_error_listing_them(tmp_path):
    source = _randomised()
    checkpoint = _official_checkpoint(source)
    checkpoint['model']['layers.0.blocks.0.attn.extra_scale'] = torch.ones(1)
    del checkpoint['model']['layers.1.blocks.1.mlp.fc2.bias']
    path = str(tmp_path / 'bad.pth')
    torch.save(checkpoint, path)
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW, init_cfg=dict(
        type='Pretrained', checkpoint=path))
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    message = str(err.value)
    assert 'unexpected keys: layers.0.blocks.0.attn.extra_scale' in message
    assert 'missing keys: layers.1.blocks.1.mlp.fc2.bias' in message
    # the same through load_from: an error, not a logged warning
    with pytest.raises(CheckpointMismatchError, match='extra_scale'):
        load_checkpoint(_classifier(), path, map_location='cpu')


def test_wrong_arch_is_an_error(tmp_path):
    path = str(tmp_path / 'wide.pth')
    wide = SwinTransformerV2(arch=dict(ARCH, embed_dims=64), window_size=4)
    torch.save({'model': wide.state_dict()}, path)
    model = SwinTransformerV2(arch=ARCH, window_size=WINDOW, init_cfg=dict(
        type='Pretrained', checkpoint=path))
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        model.init_weights()


def test_window_transfer_rebuilds_the_derived_tables(tmp_path):
    """Weights trained at window 4 load into window 8 with pretrained 4."""
    source = _randomised()
    path = str(tmp_path / 'w4.pth')
    torch.save(_official_checkpoint(source), path)
    model = SwinTransformerV2(arch=ARCH, window_size=8,
                              pretrained_window_sizes=WINDOW,
                              init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    attn = model.layers[0].blocks[0].attn
    assert attn.relative_coords_table.shape == (1, 15, 15, 2)
    assert attn.relative_position_index.shape == (64, 64)
    # the coordinates are normalised by the pretrained window (4 - 1)
    assert torch.isclose(attn.relative_coords_table.abs().max(),
                         torch.tensor(math.log2(7 / 3 * 8 + 1) / 3))
    out = _features(model.eval(), torch.randn(1, 3, 128, 128))
    assert torch.isfinite(out).all()


def test_22k_to_1k_rows_match_the_official_map():
    from visrep.projects.swin_v2.checkpoint import map_22k_to_1k_rows
    rows = map_22k_to_1k_rows()
    # entries of microsoft/Swin-Transformer data/map22kto1k.txt, around
    # both extra classes of Microsoft's list and the 'teddy bear' exception
    assert rows[:5] == [359, 368, 460, 475, 486]
    assert rows[717:719] == [9204, 9212] and rows[981:983] == [14965, 15732]
    assert rows[849:852] == [11137, 5564, 11168] and rows[999] == 21817
    assert len(set(rows)) == 1000
    # sorted positions, except the official choice for 'teddy bear'
    assert [r for i, r in enumerate(rows) if i != 850] == sorted(
        r for i, r in enumerate(rows) if i != 850)


def test_22k_head_is_mapped_to_1k(tmp_path):
    source = _randomised()
    checkpoint = _official_checkpoint(source, num_classes=21841)
    path = str(tmp_path / 'in22k.pth')
    torch.save(checkpoint, path)
    classifier = _classifier(num_classes=1000)
    load_checkpoint(classifier, path, map_location='cpu')
    head = checkpoint['model']['head.weight']
    # tench (1k class 0) is row 359; toilet tissue (999) row 21817
    assert torch.equal(classifier.head.fc.weight[0], head[359])
    assert torch.equal(classifier.head.fc.weight[999], head[21817])


def test_converter_tool(tmp_path):
    source = _randomised()
    src, dst = str(tmp_path / 'official.pth'), str(tmp_path / 'ours.pth')
    torch.save(_official_checkpoint(source), src)
    proc = run_tool(['tools/model_converters/swinv2_to_visrep.py', src, dst],
                    cwd=str(tmp_path), timeout=300)
    assert '(official layout)' in proc.stdout
    converted = torch.load(dst, weights_only=False)
    classifier = _classifier()
    missing, unexpected = classifier.load_state_dict(
        converted['state_dict'], strict=False)
    assert not unexpected and not missing
    backbone, head, layout = split_swin_v2_checkpoint(converted)
    assert layout == 'visrep' and set(head) == {'fc.weight', 'fc.bias'}
