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
