"""``tools/analysis_tools/get_flops.py``: FLOPs and parameters of any config.

* on plain conv / linear models (a classifier and a 3-D recognizer) the FLOPs
  equal the direct formula (one multiply-add = one FLOP), at a non-square
  input given by ``--shape``, and ``--cfg-options`` / ``--out`` work;
* on our configs of mmpretrain, mmseg and mmdet, shrunk with options, the
  parameters equal ``sum(p.numel())`` of the model built from the config
  (a segmentor without its training-only auxiliary head) and the traced
  input has the requested shape.
"""
import json

import pytest
from torch import nn

from _helpers.runs import REPO_ROOT, load_script

get_flops = load_script('tools/analysis_tools/get_flops.py')

C_OUT, CLASSES = 8, 10


def _register_plain_models() -> None:
    """A conv backbone per toolkit: conv (3 -> C_OUT, 3x3, same padding)."""
    from mmaction.registry import MODELS as ACTION_MODELS
    from mmengine.model import BaseModule
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS

    class PlainConv2d(BaseModule):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, C_OUT, 3, padding=1, bias=False)

        def forward(self, x):
            return (self.conv(x), )

    class PlainConv3d(BaseModule):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv3d(3, C_OUT, (1, 3, 3), padding=(0, 1, 1),
                                  bias=False)

        def forward(self, x):
            return self.conv(x)

    PRETRAIN_MODELS.register_module('GetFlopsTestConv2d', module=PlainConv2d,
                                    force=True)
    ACTION_MODELS.register_module('GetFlopsTestConv3d', module=PlainConv3d,
                                  force=True)


_register_plain_models()

CLASSIFIER = """
default_scope = 'mmpretrain'
model = dict(
    type='ImageClassifier',
    backbone=dict(type='GetFlopsTestConv2d'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=8))
"""

RECOGNIZER = """
default_scope = 'mmaction'
model = dict(
    type='Recognizer3D',
    backbone=dict(type='GetFlopsTestConv3d'),
    cls_head=dict(type='I3DHead', num_classes=10, in_channels=8,
                  dropout_ratio=0.0),
    data_preprocessor=dict(type='ActionDataPreprocessor',
                           format_shape='NCTHW'))
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_classifier_flops_equal_the_formula(tmp_path):
    config = _write(tmp_path, 'plain_cls.py', CLASSIFIER)
    out = tmp_path / 'flops.json'
    h, w, classes = 32, 48, 7
    result = get_flops.main([config, '--shape', str(h), str(w), '--out',
                             str(out), '--cfg-options',
                             f'model.head.num_classes={classes}'])
    conv = h * w * C_OUT * 3 * 3 * 3
    pool = h * w * C_OUT  # adaptive_avg_pool2d: one FLOP per input element
    linear = C_OUT * classes
    assert result.input_shape == [1, 3, h, w]
    assert result.flops == conv + pool + linear
    assert result.params == C_OUT * 3 * 3 * 3 + linear + classes
    saved = json.loads(out.read_text())
    assert (saved['flops'], saved['params']) == (result.flops, result.params)
    assert saved['input_shape'] == [1, 3, h, w]


def test_video_flops_count_every_frame(tmp_path):
    config = _write(tmp_path, 'plain_video.py', RECOGNIZER)
    t, h, w = 4, 16, 24
    result = get_flops.main([config, '--shape', str(t), str(h), str(w)])
    conv = t * h * w * C_OUT * 3 * 3 * 3
    assert result.input_shape == [1, 1, 3, t, h, w]
    # the 3-D average pool is not counted by mmengine; the head's fc is
    assert result.flops == conv + C_OUT * CLASSES
    assert result.params == C_OUT * 3 * 3 * 3 + C_OUT * CLASSES + CLASSES
    assert 'aten::adaptive_avg_pool3d' in result.not_counted


def test_bad_shape_is_a_clear_error(tmp_path):
    config = _write(tmp_path, 'plain_cls.py', CLASSIFIER)
    with pytest.raises(get_flops.ConfigError, match='--shape 4 32 32'):
        get_flops.main([config, '--shape', '4', '32', '32'])


def tiny_swin() -> dict:
    """A SwinV2 arch of 16 channels, one block per stage."""
    return dict(_delete_=True, embed_dims=16, depths=[1, 1, 1, 1],
                num_heads=[1, 1, 2, 2])


#: config, --cfg-options shrinking it, --shape, expected traced input shape
CASES = {
    'mmpretrain': (
        'configs/swin_v2/swinv2-tiny-w8_16xb64_in1k-256px.py',
        {'model.backbone.arch': tiny_swin(), 'model.head.in_channels': 128},
        [64], [1, 3, 64, 64]),
    'mmseg': (
        'configs/swin_v2/upernet_swinv2-t-w16_8xb2-160k_ade20k-512x512.py',
        {'model.backbone.arch': tiny_swin(), 'model.backbone.window_size': 4,
         'model.backbone.pretrained_window_sizes': 0,
         'model.backbone.init_cfg': None,
         'model.decode_head.in_channels': [16, 32, 64, 128],
         'model.decode_head.channels': 16,
         'model.auxiliary_head.in_channels': 64,
         'model.auxiliary_head.channels': 16},
        [64, 96], [1, 3, 64, 96]),
    'mmdet': (
        'configs/cbn/mask-rcnn_r18_fpn_cbn_small-coco.py',
        {'model.test_cfg.rpn.nms_pre': 20, 'model.test_cfg.rpn.max_per_img': 4,
         'model.test_cfg.rcnn.max_per_img': 2},
        [64, 96], [1, 3, 64, 96]),
}
# mmaction: the recognizer test above (a real config's backbone takes 2 s
# to build, twice here)


@pytest.mark.parametrize('toolkit', list(CASES))
def test_params_equal_the_built_models(toolkit):
    path, options, shape, traced = CASES[toolkit]
    cfg = get_flops.load_config(f'{REPO_ROOT}/{path}', options)
    result = get_flops.count(cfg, path, shape)
    assert result.toolkit == toolkit
    assert result.input_shape == traced
    # the model as its toolkit builds it, independently of the tool
    from mmengine.registry import init_default_scope
    init_default_scope(toolkit)
    registry = __import__(f'{get_flops.TOOLKITS[toolkit][0]}.registry',
                          fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    expected = sum(p.numel() for name, p in model.named_parameters()
                   if not name.startswith('auxiliary_head.'))
    assert result.params == expected
    assert result.flops > 0
    if toolkit == 'mmseg':  # the auxiliary head is not counted
        assert expected < sum(p.numel() for p in model.parameters())
