"""Every MoBY config trains on the small data with a tiny Swin: pre-training
(small ImageNet, both views), linear evaluation (frozen backbone), Mask R-CNN
on the small COCO set and UperNet on the small ADE20K set -- each backbone
initialised from a MoBY pre-training checkpoint written by the first test."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from _helpers import REPO_ROOT
from _helpers.small_data import small_data_config
from _helpers.ssl_configs import small_ssl_config

pytestmark = pytest.mark.e2e

CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'moby', '*.py')))
PRETRAIN = [p for p in CONFIGS if osp.basename(p).startswith('moby_')]
DOWNSTREAM = [p for p in CONFIGS if p not in PRETRAIN]


def test_the_paper_configs_are_all_here():
    assert {osp.basename(p) for p in CONFIGS} == {
        'moby_swin-tiny_8xb64-amp-coslr-100e_in1k.py',
        'moby_swin-tiny_8xb64-amp-coslr-300e_in1k.py',
        'swin-tiny_moby-300e-pre_linear-8xb64-coslr-100e_in1k.py',
        'mask-rcnn_swin-t_moby-300e-pre_fpn_1x_coco.py',
        'mask-rcnn_swin-t_moby-300e-pre_fpn_ms-crop-3x_coco.py',
        'upernet_swin-t_moby-300e-pre_8xb2-160k_ade20k-512x512.py',
    }


def _train(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.fixture(scope='module')
def moby_checkpoint(small_data_cwd, tmp_path_factory):
    """Two iterations of the 300-epoch config with a tiny Swin."""
    work_dir = str(tmp_path_factory.mktemp('moby_pre'))
    import os
    here = os.getcwd()
    os.chdir(small_data_cwd)
    try:
        cfg = small_ssl_config(Config.fromfile(PRETRAIN[-1]),
                               work_dir=work_dir)
        cfg.experiment_name = 'small_moby_pre'
        runner = _train(cfg)
    finally:
        os.chdir(here)
    loss = runner.message_hub.log_scalars['train/loss'].current()
    assert math.isfinite(loss)
    return osp.join(work_dir, 'epoch_1.pth')


def test_pretraining_configs_train(moby_checkpoint, small_data_cwd, tmp_path,
                                   monkeypatch):
    state = torch.load(moby_checkpoint, weights_only=False)['state_dict']
    assert int(state['momentum_step']) == 2 and int(state['queue_ptr']) == 8
    monkeypatch.chdir(small_data_cwd)
    cfg = small_ssl_config(Config.fromfile(PRETRAIN[0]),
                           work_dir=str(tmp_path))
    cfg.experiment_name = 'small_moby_100e'
    runner = _train(cfg)
    loss = runner.message_hub.log_scalars['train/loss'].current()
    assert math.isfinite(loss)


@pytest.mark.parametrize('path', DOWNSTREAM, ids=osp.basename)
def test_downstream_config_trains_from_moby(path, moby_checkpoint,
                                            small_data_cwd, tmp_path,
                                            monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = small_data_config(Config.fromfile(path), work_dir=str(tmp_path))
    assert cfg.model.backbone.type == 'visrep.SwinTransformerV1'
    cfg.model.backbone.init_cfg = dict(type='Pretrained',
                                       checkpoint=moby_checkpoint,
                                       prefix='backbone.')
    cfg.experiment_name = f'small_{osp.basename(path)[:-3]}'
    runner = _train(cfg)
    scalars = runner.message_hub.log_scalars
    assert math.isfinite(scalars['train/loss'].current())
    assert 'val/time' in scalars  # the evaluation ran
    # the backbone holds the pre-trained online encoder
    pretrained = torch.load(moby_checkpoint, weights_only=False)['state_dict']
    backbone = runner.model.backbone.state_dict()
    key = 'stages.2.blocks.0.attn.w_msa.qkv.weight'
    if 'linear' in path:  # frozen: still exactly the pre-trained weights
        assert torch.equal(backbone[key], pretrained['backbone.' + key])
        assert not any(p.requires_grad
                       for p in runner.model.backbone.parameters())
    else:  # trained a little from them
        assert torch.allclose(backbone[key], pretrained['backbone.' + key],
                              atol=1e-2)
