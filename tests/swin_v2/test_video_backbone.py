"""VideoSwinTransformerV2: 2-D equivalence, inflation, 3-D geometry."""
import itertools

import pytest
import timm
import torch
from mmengine.registry import DefaultScope

from visrep.projects.swin_v2 import (SwinTransformerV2, VideoSwinTransformerV2,
                              inflate_2d_state_dict)
from visrep.checkpoint import CheckpointMismatchError
from visrep.projects.swin_v2.windows import (shift_attention_mask, window_partition,
                                      window_reverse)

ARCH = dict(embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4))


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return module.eval()


def _image_model(**kwargs):
    return _randomise(SwinTransformerV2(arch=ARCH, window_size=4,
                                        window_clip='per_axis',
                                        out_indices=(0, 1, 2, 3), **kwargs))


def _video_model(**kwargs):
    kwargs.setdefault('window_size', (2, 4, 4))
    return VideoSwinTransformerV2(arch=ARCH, out_indices=(0, 1, 2, 3),
                                  **kwargs).eval()


def test_one_frame_equals_the_image_model():
    """Temporal patch 1, one frame: the inflated video model is the 2-D one."""
    image = _image_model()
    video = _video_model(patch_size=(1, 4, 4))
    video.load_state_dict(video.fit_checkpoint(image.state_dict()))
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        for got, expected in zip(video(x.unsqueeze(2)), image(x)):
            assert got.shape[2] == 1
            assert (got[:, :, 0] - expected).abs().max() < 1e-5


def test_a_static_clip_with_temporal_patch_2_embeds_as_the_image():
    """Weights repeated over t and divided by t: a clip of identical frames
    gets the image's patch embedding on every temporal token."""
    image = _image_model()
    video = _video_model(patch_size=(2, 4, 4))
    video.load_state_dict(video.fit_checkpoint(image.state_dict()))
    x = torch.randn(1, 3, 32, 32)
    clip = x.unsqueeze(2).repeat(1, 1, 4, 1, 1)
    with torch.no_grad():
        tokens = video.patch_embed(clip)
        expected = image.patch_embed(x)
    assert tokens.shape[1] == 2
    for t in range(2):
        assert (tokens[:, t] - expected).abs().max() < 1e-5


def test_timm_weights_load_into_the_video_model_via_init_cfg(tmp_path):
    """An independent 2-D implementation: timm's SwinV2 state dict, inflated
    on load, gives timm's features on a one-frame clip."""
    peer = _randomise(timm.create_model(
        'swinv2_tiny_window8_256', num_classes=0, embed_dim=16,
        depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=4,
        img_size=64))
    path = str(tmp_path / 'timm.pth')
    torch.save(peer.state_dict(), path)
    video = VideoSwinTransformerV2(
        arch=ARCH, patch_size=(1, 4, 4), window_size=(2, 4, 4),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    video.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = peer.forward_features(x)
        got = video.eval()(x.unsqueeze(2))[:, :, 0].permute(0, 2, 3, 1)
    assert (got - expected).abs().max() < 1e-4


def test_inflated_position_bias_is_the_same_on_every_frame_offset():
    image = _image_model(pretrained_window_sizes=(6, 6, 6, 3))
    video = _video_model(window_size=(4, 4, 4),
                         pretrained_window_sizes=(6, 6, 6, 3))
    video.load_state_dict(video.fit_checkpoint(image.state_dict()))
    with torch.no_grad():
        bias_2d = image.layers[0].blocks[0].attn.position_bias()
        bias_3d = video.layers[0].blocks[0].attn.position_bias()
    assert bias_3d.shape == (1, 64, 64)
    coords = list(itertools.product(range(4), range(4), range(4)))
    for i, (ti, hi, wi) in enumerate(coords):
        for j, (tj, hj, wj) in enumerate(coords):
            assert bias_3d[0, i, j] == bias_2d[0, hi * 4 + wi, hj * 4 + wj]
    # training then moves the time column: frames are told apart
    g = torch.Generator().manual_seed(5)
    video.layers[0].blocks[0].attn.cpb_mlp[0].weight.data[:, 0] = \
        torch.randn(512, generator=g) * 0.05
    with torch.no_grad():
        moved = video.layers[0].blocks[0].attn.position_bias()
    assert not torch.equal(moved[0, 0, 16], moved[0, 0, 32])  # dt 1 vs 2


def test_inflation_shapes_and_errors():
    image = _image_model()
    sd = inflate_2d_state_dict(image.state_dict(), temporal_patch=2)
    assert sd['patch_embed.proj.weight'].shape == (16, 3, 2, 4, 4)
    w = sd['layers.0.blocks.0.attn.cpb_mlp.0.weight']
    assert w.shape == (512, 3) and w[:, 0].eq(0).all()
    assert torch.equal(w[:, 1:], image.state_dict()[
        'layers.0.blocks.0.attn.cpb_mlp.0.weight'])
    # 3-D weights pass through the video model's fit untouched
    video = _video_model()
    own = video.state_dict()
    assert video.fit_checkpoint(own) is own
    # a 2-D checkpoint of another arch is an error listing the keys
    other = SwinTransformerV2(arch=dict(ARCH, embed_dims=32))
    from visrep.projects.swin_v2.checkpoint import match_backbone_keys
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        match_backbone_keys(video, video.fit_checkpoint(other.state_dict()))


def test_3d_partition_round_trip_and_shift_mask():
    x = torch.randn(2, 4, 8, 12, 5)
    windows = window_partition(x, (2, 4, 3))
    assert windows.shape == (2 * 2 * 2 * 4, 24, 5)
    assert torch.equal(window_reverse(windows, (2, 4, 3), (4, 8, 12)), x)

    spatial, window, shift = (4, 8, 8), (2, 4, 4), (1, 2, 2)
    mask = shift_attention_mask(spatial, window, shift)
    # independent rule: after the cyclic shift, two tokens of a window are
    # true neighbours iff their original positions are closer than a window
    # on every axis (a wrapped-around token is at least size - window away)
    grid = torch.stack(torch.meshgrid(*[torch.arange(s) for s in spatial],
                                      indexing='ij'), dim=-1)
    rolled = torch.roll(grid, shifts=[-s for s in shift], dims=(0, 1, 2))
    pos = window_partition(rolled.unsqueeze(0), window)  # nW, N, 3
    far = (pos[:, :, None] - pos[:, None]).abs() >= torch.tensor(window)
    expected = torch.where(far.any(-1), -100.0, 0.0)
    assert torch.equal(mask, expected)
    assert (mask == -100).any() and (mask[0] == 0).all()


def test_windows_clip_per_axis_to_short_clips_and_bad_rule():
    video = _video_model(window_size=(8, 4, 4))  # 8 frames -> 4 tokens
    with torch.no_grad():
        outs = video(torch.randn(1, 3, 8, 32, 40))
    assert [tuple(o.shape[2:]) for o in outs] == [(4, 8, 10), (4, 4, 5),
                                                 (4, 2, 3), (4, 1, 2)]
    assert all(torch.isfinite(o).all() for o in outs)
    with pytest.raises(ValueError, match="window_clip='official'"):
        VideoSwinTransformerV2(arch=ARCH, window_clip='official')
    with pytest.raises(ValueError, match='window_size'):
        VideoSwinTransformerV2(arch=ARCH, window_size=[(2, 4, 4), (2, 4)] * 2)


def test_training_step_frozen_stages_and_with_cp():
    torch.manual_seed(0)
    plain = _randomise(_video_model(drop_path_rate=0.0))
    cp = _video_model(drop_path_rate=0.0, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    grads = []
    for model in (plain, cp):
        model.train()
        sum(o.pow(2).mean() for o in model(x)).backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-6)
    frozen = _video_model(frozen_stages=1).train()
    assert not any(p.requires_grad for p in frozen.layers[0].parameters())
    assert all(p.requires_grad for p in frozen.layers[1].parameters())


def test_builds_in_an_mmaction_recognizer():
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='Recognizer3D',
            backbone=dict(type='visrep.VideoSwinTransformerV2', arch=ARCH,
                          window_size=(2, 4, 4)),
            cls_head=dict(type='I3DHead', in_channels=128, num_classes=5),
            data_preprocessor=dict(type='ActionDataPreprocessor',
                                   format_shape='NCTHW')))
    clips = torch.randn(2, 1, 3, 4, 32, 32)  # batch, clips, C, T, H, W
    with torch.no_grad():
        features = model(clips, mode='tensor')  # N, C, T', H', W'
        scores = model.cls_head(features)
    assert features.shape == (2, 128, 2, 1, 1) and scores.shape == (2, 5)


def _official_release(image):
    """The 2-D weights as the official training code saves them."""
    model = {('norm.' + k[len('norm3.'):] if k.startswith('norm3.') else k): v
             for k, v in image.state_dict().items()
             if k.split('.')[0] not in ('norm0', 'norm1', 'norm2')}
    model['layers.0.blocks.0.attn.relative_position_index'] = torch.zeros(
        16, 16, dtype=torch.long)  # derived buffers are in the releases
    model['head.weight'] = torch.randn(10, 128)
    model['head.bias'] = torch.randn(10)
    return {'model': model, 'epoch': 299}


def _mmpretrain_classifier(image_size):
    from mmpretrain.models.backbones import SwinTransformerV2 as MMPSwinV2
    peer = MMPSwinV2(arch=dict(ARCH, extra_norm_every_n_blocks=0),
                     img_size=image_size, window_size=4)
    _randomise(peer)
    return {'state_dict': {f'backbone.{k}': v
                           for k, v in peer.state_dict().items()}}


@pytest.mark.parametrize('layout', ['official', 'mmpretrain'])
def test_official_and_mmpretrain_checkpoints_inflate(layout, tmp_path):
    """Each 2-D layout: the video model on one frame gives what the 2-D
    model loaded from the same file gives on the image."""
    path = str(tmp_path / f'{layout}.pth')
    if layout == 'official':
        torch.save(_official_release(_image_model()), path)
    else:
        torch.save(_mmpretrain_classifier(64), path)
    image = SwinTransformerV2(arch=ARCH, window_size=4, window_clip='per_axis',
                              init_cfg=dict(type='Pretrained',
                                            checkpoint=path))
    video = VideoSwinTransformerV2(arch=ARCH, patch_size=(1, 4, 4),
                                   window_size=(2, 4, 4),
                                   init_cfg=dict(type='Pretrained',
                                                 checkpoint=path))
    image.init_weights()
    video.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = image.eval()(x)[-1]
        got = video.eval()(x.unsqueeze(2))[:, :, 0]
    assert (got - expected).abs().max() < 1e-5


def test_load_from_inflates_into_a_recognizer(tmp_path):
    """``load_from`` with an official 2-D release: the mmaction2 model's
    backbone gets the inflated weights (and the 2-D head is not forced on
    the video head)."""
    from mmengine.runner.checkpoint import load_checkpoint
    from mmaction.registry import MODELS
    image = _image_model()
    path = str(tmp_path / 'official.pth')
    torch.save(_official_release(image), path)
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(dict(
            type='Recognizer3D',
            backbone=dict(type='visrep.VideoSwinTransformerV2', arch=ARCH,
                          patch_size=(1, 4, 4), window_size=(2, 4, 4)),
            cls_head=dict(type='I3DHead', in_channels=128, num_classes=5)))
    load_checkpoint(model, path, map_location='cpu')
    expected = inflate_2d_state_dict(image.state_dict(), 1)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, expected[key]), key

