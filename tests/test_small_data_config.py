"""small_data_config: what the short e2e runs change in a full config."""
import os.path as osp

from mmengine.config import Config

from _helpers import REPO_ROOT
from _helpers.small_data import (BACKBONE_SHRINKERS, SHORT_RUN_RCNN_TEST,
                                 load_plugin_shrinkers,
                                 short_run_rcnn_options,
                                 small_data_config)
from _helpers.ssl_configs import SSL_BACKBONE_SHRINKERS

CONFIGS = osp.join(REPO_ROOT, 'configs')


def test_two_stage_detectors_evaluate_their_best_boxes_at_any_score():
    for name in ('mask-rcnn_swinv2-t-w16_fpn_1x_coco.py',
                 'cascade-mask-rcnn_swinv2-t-w16_fpn_ms-3x_coco.py'):
        full = Config.fromfile(osp.join(CONFIGS, 'swin_v2', name))
        assert full.model.test_cfg.rcnn.score_thr == 0.05
        assert full.model.test_cfg.rcnn.max_per_img == 100
        small = small_data_config(full)
        assert small.model.test_cfg.rcnn.score_thr == 0.0
        assert small.model.test_cfg.rcnn.max_per_img == 10
        # the rest of test_cfg.rcnn is the experiment's
        assert small.model.test_cfg.rcnn.nms == full.model.test_cfg.rcnn.nms
    # the same settings as --cfg-options for runs of unmodified configs
    cfg = Config(dict(model=dict(test_cfg=dict(rcnn=dict(score_thr=0.05)))))
    cfg.merge_from_dict(dict(
        option.split('=') for option in short_run_rcnn_options()))
    assert {k: float(v) for k, v in cfg.model.test_cfg.rcnn.items()} == \
        {k: float(v) for k, v in SHORT_RUN_RCNN_TEST.items()}


def test_other_models_keep_their_test_cfg():
    name = 'upernet_swinv2-t-w16_8xb2-160k_ade20k-512x512.py'
    full = Config.fromfile(osp.join(CONFIGS, 'swin_v2', name))
    small = small_data_config(full)
    assert small.model.get('test_cfg') == full.model.get('test_cfg')


def test_the_experiments_metrics_on_the_small_annotations():
    smoke = Config.fromfile(osp.join(
        CONFIGS, 'smoke', 'mask-rcnn_r18_fpn_small-coco.py'))
    for name, metric in (
            ('faster-rcnn_r50_fpn_4conv1fc_cbn_4xb4-1x_coco.py', 'bbox'),
            ('mask-rcnn_r50_fpn_4conv1fc_cbn_4xb4-1x_coco.py',
             ['bbox', 'segm'])):
        full = Config.fromfile(osp.join(CONFIGS, 'cbn', name))
        assert full.val_evaluator.metric == metric
        small = small_data_config(full)
        for field in ('val_evaluator', 'test_evaluator'):
            assert small[field].metric == metric
            assert small[field].ann_file == smoke[field].ann_file


def test_the_shrinkers_of_every_test_folder_are_registered():
    """``tests/<folder>/shrinkers.py`` teach the helpers the backbones of the
    plugins (and core) that the configs train, for every test."""
    load_plugin_shrinkers()
    assert {'visrep.SwinTransformerV2', 'visrep.VideoSwinTransformerV2',
            'visrep.SwinTransformerV1', 'visrep.SimMIMViT'} <= set(
                BACKBONE_SHRINKERS)
    assert {'visrep.SwinTransformerV1', 'visrep.MaskedSwinTransformerV1',
            'visrep.SwinTransformerV2', 'visrep.MaskedSwinTransformerV2',
            'visrep.SimMIMViT', 'visrep.MaskedSimMIMViT'} <= set(
                SSL_BACKBONE_SHRINKERS)
    name = 'upernet_swinv2-t-w16_8xb2-160k_ade20k-512x512.py'
    small = small_data_config(Config.fromfile(osp.join(CONFIGS, 'swin_v2',
                                                       name)))
    assert small.model.backbone.arch.embed_dims == 16
    assert small.model.decode_head.in_channels == [16, 32, 64, 128]


def _marked_small_imagenet(cwd) -> str:
    from visrep.datasets.synthetic import write_marker
    root = osp.join(str(cwd), 'data', 'small', 'imagenet')
    write_marker(root)
    return root


def test_full_size_config_on_the_small_set_stops(tmp_path, monkeypatch):
    """A full-size config pointed at a generated small set stops with the
    message and the fix (the config check the train/test tools run)."""
    import pytest

    from visrep.cli.config_checks import ConfigError, check_config
    from visrep.cli.small_data_guard import check_not_small_data
    monkeypatch.chdir(tmp_path)
    _marked_small_imagenet(tmp_path)
    full = Config.fromfile(osp.join(
        CONFIGS, 'swin_v2', 'swinv2-tiny-w8_16xb64_in1k-256px.py'))
    assert full.get('small_data') is None
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        full[loader].dataset.data_root = 'data/small/imagenet/'
    with pytest.raises(ConfigError) as err:
        check_config(full, 'train')
    message = str(err.value)
    assert message.startswith("train_dataloader.dataset.data_root: "
                              "'data/small/imagenet/' is the generated small")
    assert 'VISREP_SMALL_DATA' in message and 'make_small_datasets' in message
    assert 'Fix: point it at the real data' in message
    # a real (unmarked) directory passes; the small-data config passes
    (tmp_path / 'real').mkdir()
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        full[loader].dataset.data_root = 'real'
    check_not_small_data(full, ('train_dataloader', 'val_dataloader'))
    smoke = Config.fromfile(osp.join(CONFIGS, 'smoke',
                                     'resnet18_small-imagenet.py'))
    assert smoke.small_data is True
    check_not_small_data(smoke, ('train_dataloader', 'val_dataloader'))


def test_every_small_data_config_reads_data_small():
    """Small-data and smoke configs say ``small_data = True`` and read only
    data/small/ (the generator's default), never the real data/<set>."""
    import glob
    import re
    from visrep.cli.small_data_guard import _read_paths
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    paths = [p for p in glob.glob(osp.join(CONFIGS, '**', '*.py'),
                                  recursive=True)
             if '_base_' not in p and (
                 re.search(r'(^|_)small-', osp.basename(p))
                 or f'{osp.sep}small{osp.sep}' in p
                 or f'{osp.sep}smoke{osp.sep}' in p)]
    assert len(paths) > 15
    for path in paths:
        cfg = Config.fromfile(path)
        assert cfg.get('small_data') is True, path
        for field, value in _read_paths(cfg, loaders):
            assert value.startswith('data/small/'), (path, field, value)
