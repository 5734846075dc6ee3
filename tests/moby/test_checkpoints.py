"""An official MoBY checkpoint (official key names, built here) converts and
loads into our MoBY without missing or unexpected keys; its encoder loads
into cls/det/seg backbones directly and through the converters."""
import pytest
import torch
from mmengine.registry import DefaultScope

from visrep.checkpoint import adapt_state_dict, swin_v1_from_official
from visrep.projects.moby import convert_official_moby
from _helpers.official_checkpoints import load_converter, official_moby

SWIN = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2])
OFFICIAL = dict(embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2],
                window=2, img_size=64)


def _build(cfg, scope='mmpretrain'):
    from mmengine.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def _moby():
    return _build(dict(
        type='visrep.MoBY',
        backbone=dict(type='visrep.SwinTransformerV1', arch=SWIN,
                      img_size=64, window_size=2, drop_path_rate=0.2),
        neck=dict(type='visrep.MoBYMLP', in_channels=128, hid_channels=64,
                  out_channels=16),
        head=dict(type='visrep.MoBYHead',
                  predictor=dict(type='visrep.MoBYMLP', in_channels=16,
                                 hid_channels=64, out_channels=16)),
        queue_len=32, feat_dim=16, momentum_total_iters=10,
        data_preprocessor=dict(type='SelfSupDataPreprocessor',
                               mean=[0., 0., 0.], std=[1., 1., 1.])))


def test_official_moby_checkpoint_loads_without_key_mismatch():
    checkpoint = official_moby(OFFICIAL)
    model = _moby()
    model.load_state_dict(adapt_state_dict(model, checkpoint), strict=True)
    official = checkpoint['model']
    torch.testing.assert_close(model.queue2, official['queue2'])
    assert int(model.queue_ptr) == 8
    torch.testing.assert_close(model.head.predictor.linear_out.weight,
                               official['predictor.linear_out.weight'])
    torch.testing.assert_close(model.target_neck.linear_hidden[2].running_var,
                               official['projector_k.linear_hidden.2.'
                                        'running_var'])
    # the encoders were converted (patch merging re-ordered), not copied
    ours = swin_v1_from_official({k[len('encoder_k.'):]: v
                                  for k, v in official.items()
                                  if k.startswith('encoder_k.')})
    for key, value in ours.items():
        torch.testing.assert_close(model.target_backbone.state_dict()[key],
                                   value)


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_released_file_loads_directly_into_any_toolkit_backbone(scope,
                                                                tmp_path):
    """The released file (``encoder.`` prefix) read by init_cfg: no silent
    zero-weight load (the 'zero mAP' pain point)."""
    path = str(tmp_path / 'moby_release.pth')
    checkpoint = official_moby(OFFICIAL)
    torch.save(checkpoint, path)
    backbone = _build(dict(type='visrep.SwinTransformerV1', arch=SWIN,
                           img_size=64, window_size=2, pad_small_map=True,
                           out_indices=(0, 1, 2, 3),
                           init_cfg=dict(type='Pretrained', checkpoint=path)),
                      scope)
    expected = swin_v1_from_official({k[len('encoder.'):]: v for k, v in
                                      checkpoint['model'].items()
                                      if k.startswith('encoder.')})
    state = backbone.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value)


def test_converters(tmp_path):
    src = str(tmp_path / 'release.pth')
    torch.save(official_moby(OFFICIAL), src)
    full, plain = str(tmp_path / 'full.pth'), str(tmp_path / 'plain.pth')
    load_converter('moby_to_visrep').main([src, full])
    converted = torch.load(full, weights_only=False)['state_dict']
    assert converted.keys() == convert_official_moby(
        official_moby(OFFICIAL)['model']).keys()
    model = _moby()
    model.load_state_dict(adapt_state_dict(model, {'state_dict': converted}),
                          strict=True)
    # our checkpoint -> plain backbone (no prefix) -> a classifier backbone
    torch.save({'state_dict': model.state_dict(), 'meta': {}},
               str(tmp_path / 'ours.pth'))
    load_converter('ssl_to_backbone').main([str(tmp_path / 'ours.pth'), plain])
    saved = torch.load(plain, weights_only=False)['state_dict']
    assert saved.keys() == model.backbone.state_dict().keys()
    backbone = _build(dict(type='visrep.SwinTransformerV1', arch=SWIN,
                           img_size=64, window_size=2))
    backbone.load_state_dict(saved, strict=True)
    with pytest.raises(SystemExit, match='not an official MoBY'):
        load_converter('moby_to_visrep').main([plain, full])
