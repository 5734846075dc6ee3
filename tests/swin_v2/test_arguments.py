"""Swin V2 size arguments: wrong values are refused at construction with the
argument's name and the allowed values (they used to fail inside torch, or
be accepted: ``out_indices=(5,)`` became stage 1)."""
import pytest
import torch

from visrep.projects.swin_v2 import SwinTransformerV2, VideoSwinTransformerV2

#: four one-block stages: construction takes milliseconds
ARCH = dict(embed_dims=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))


@pytest.mark.parametrize('cls', [SwinTransformerV2, VideoSwinTransformerV2])
@pytest.mark.parametrize('kwargs, error, match', [
    (dict(window_size=0), ValueError, r'window_size=0: 0 < 1'),
    (dict(window_size=-4), ValueError, r'window_size=-4: -4 < 1'),
    (dict(window_size=3.5), TypeError, r'window_size=3.5: 3.5 is a float'),
    (dict(window_size=True), TypeError, r'window_size=True: True is a bool'),
    (dict(window_size=[4, 4, 0, 4]), ValueError,
     r'window_size=\[4, 4, 0, 4\]'),
    (dict(pretrained_window_sizes=-1), ValueError,
     r'pretrained_window_sizes=-1: -1 < 0; give ints >= 0 .*0 = none'),
    (dict(pretrained_window_sizes=(8, 8, 8, 2.0)), TypeError,
     r'pretrained_window_sizes=\(8, 8, 8, 2.0\)'),
    (dict(out_indices=(5, )), ValueError,
     r'out_indices=\(5,\): 5 is not a stage .* -4..3'),
    (dict(out_indices=(-5, )), ValueError, r'indices in -4..3'),
    (dict(out_indices=3), TypeError, r'out_indices=3: give a sequence'),
    (dict(out_indices=(1.0, )), TypeError, r'1.0 is not an int'),
])
def test_bad_size_arguments_name_argument_and_allowed_values(
        cls, kwargs, error, match):
    with pytest.raises(error, match=match):
        cls(arch=ARCH, **kwargs)


def test_video_window_of_floats_is_refused_before_tuple_handling():
    with pytest.raises(TypeError, match=r'window_size=\(2, 3.5, 3.5\)'):
        VideoSwinTransformerV2(arch=ARCH, window_size=(2, 3.5, 3.5))
    with pytest.raises(ValueError, match=r'patch_size=\(0, 4, 4\)'):
        VideoSwinTransformerV2(arch=ARCH, patch_size=(0, 4, 4))


def test_allowed_values_still_build():
    """0 = no pretrained window (official); negative out_indices count from
    the last stage (mmpretrain); per-axis and per-stage windows."""
    model = SwinTransformerV2(arch=ARCH, window_size=[(4, 2), 4, 4, 2],
                              pretrained_window_sizes=(0, 8, 8, 4),
                              out_indices=(-1, 0))
    assert model.out_indices == (3, 0)
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [8, 64]
    video = VideoSwinTransformerV2(arch=ARCH, window_size=(2, 4, 4),
                                   pretrained_window_sizes=0,
                                   out_indices=(-2, ))
    assert video.out_indices == (2, )
