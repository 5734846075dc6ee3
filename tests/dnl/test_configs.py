"""The DNL configs are the stock ones plus exactly the DNL changes."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hub import get_config

from _helpers import REPO_ROOT

DNL = osp.join(REPO_ROOT, 'configs', 'dnl')
NO_DECAY = {'.conv_query': dict(decay_mult=0.0),
            '.conv_key': dict(decay_mult=0.0)}


def _ours(name):
    return Config.fromfile(osp.join(DNL, name))


def _plain(value):
    """``value`` without the ``_scope_`` keys cross-package bases add."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_the_paper_configs_are_all_here():
    names = {osp.basename(p) for p in glob.glob(osp.join(DNL, '*.py'))}
    assert names == {
        'dnl-official_r101-d8_4xb2-60k_cityscapes-769x769.py',
        'dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py',
        'dnl-official_r101-d8_4xb4-150k_ade20k-512x512.py',
        'dnl-official_r101-d8_4xb4-30k_pascal-context-520x520.py',
        'mask-rcnn_r50-dnl-c4-c5_fpn_1x_coco.py',
        'slowonly_r50-in1k-pre-dnl_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py',
        'i3d_imagenet-pretrained-r50-dnl_8xb8-32x2x1-100e_kinetics400-rgb.py'}


@pytest.mark.parametrize('ours,stock', [
    ('dnl-official_r101-d8_4xb2-60k_cityscapes-769x769.py',
     'mmseg::dnlnet/dnl_r101-d8_4xb2-80k_cityscapes-769x769.py'),
    ('dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py',
     'mmseg::dnlnet/dnl_r50-d8_4xb4-160k_ade20k-512x512.py'),
])
def test_segmentation_setup_is_mmseg_dnlnet_s(ours, stock):
    """Same backbone, data, crops and test mode as mmseg's DNLNet config;
    the head, losses and solver are the official ones."""
    ours, stock = _ours(ours), get_config(stock)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator'):
        assert _plain(ours[key]) == _plain(stock[key]), key
    for key in ('backbone', 'data_preprocessor', 'test_cfg', 'pretrained'):
        assert _plain(ours.model[key]) == _plain(stock.model[key]), key
    head = ours.model.decode_head
    assert head.type == 'visrep.DNLOfficialHead' and head.align_corners
    assert head.sampler == dict(type='OHEMPixelSampler', thresh=0.7,
                                min_kept=100000)
    assert ours.model.auxiliary_head.channels == 512
    assert ours.model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert ours.optim_wrapper.paramwise_cfg.custom_keys == NO_DECAY
    assert ours.param_scheduler[0].eta_min == 0.0


def test_ade20k_r101_differs_from_r50_only_in_depth():
    deep = _ours('dnl-official_r101-d8_4xb4-150k_ade20k-512x512.py')
    base = _ours('dnl-official_r50-d8_4xb4-150k_ade20k-512x512.py')
    assert deep.model.backbone.depth == 101
    assert deep.model.pretrained == 'open-mmlab://resnet101_v1c'
    deep.model.backbone.depth = base.model.backbone.depth
    deep.model.pretrained = base.model.pretrained
    assert deep.to_dict() == base.to_dict()


@pytest.mark.parametrize('ours,stock,backbone_keys', [
    ('mask-rcnn_r50-dnl-c4-c5_fpn_1x_coco.py',
     'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', {'plugins'}),
    ('slowonly_r50-in1k-pre-dnl_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py',
     'mmaction::recognition/slowonly/slowonly_r50-in1k-pre-nl-embedded-'
     'gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py',
     {'type', 'dnl_cfg'}),
    ('i3d_imagenet-pretrained-r50-dnl_8xb8-32x2x1-100e_kinetics400-rgb.py',
     'mmaction::recognition/i3d/i3d_imagenet-pretrained-r50-nl-embedded-'
     'gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py', {'type', 'dnl_cfg'}),
])
def test_detection_and_video_configs_change_only_the_backbone(
        ours, stock, backbone_keys):
    ours, stock = _ours(ours), get_config(stock)
    mine, theirs = _plain(ours.model.backbone), _plain(stock.model.backbone)
    changed = {k for k in set(mine) | set(theirs)
               if mine.get(k) != theirs.get(k)}
    assert changed == backbone_keys
    assert ours.optim_wrapper.paramwise_cfg.custom_keys == NO_DECAY
    ours.model.backbone = stock.model.backbone
    ours.optim_wrapper.pop('paramwise_cfg')
    stock.optim_wrapper.pop('paramwise_cfg', None)
    for key in ('model', 'optim_wrapper', 'train_dataloader',
                'param_scheduler'):
        assert _plain(ours[key]) == _plain(stock[key]), key
