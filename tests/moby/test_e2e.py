"""MoBY through the tools on the small ImageNet set.

* 2-process DDP (tools/dist_train.sh, gloo) and one process with the same
  global batch fill the queues with the same keys and end with the same
  weights (deterministic views and no stochastic depth, so that the two
  process layouts see identical inputs);
* stop after epoch 1 + ``--resume`` continues with the same queues, losses,
  weights and optimizer state as an unbroken run, bit for bit (drop path
  0.2 and random views drawn in the main process: ``visrep.RNGStateHook``).
"""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from _helpers import REPO_ROOT, read_scalars, run_tool
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

SMALL = osp.join(REPO_ROOT, 'configs', 'moby', 'small',
                 'moby_swin-micro_small-imagenet.py')
TINY = dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2])
#: parameters whose gradient is exactly 0 in exact arithmetic -- each adds
#: the same shift to every sample, which the next BatchNorm removes (the
#: final norm's bias -> projector BN; the projector's output bias ->
#: predictor BN; Linear biases right before a BN): they receive rounding
#: noise only, which Adam's first steps scale to +-lr, differently for each
#: process layout (the official model has the same property)
NOISE_ONLY = ('backbone.norm1.bias', 'neck.linear_hidden.1.bias',
              'neck.linear_out.bias', 'head.predictor.linear_hidden.1.bias')


def _config(tmp_path, name, images, batch, deterministic_views=False,
            processes=1):
    cfg = Config.fromfile(SMALL)
    cfg.model.backbone.arch = dict(TINY)
    cfg.model.backbone.out_indices = (1, )
    cfg.model.neck.in_channels = 32
    cfg.model.neck.hid_channels = 64
    cfg.model.head.predictor.hid_channels = 64
    cfg.model.queue_len = 2 * images
    cfg.model.momentum_total_iters = 2 * images // (batch * processes)
    loader = cfg.train_dataloader
    loader.batch_size = batch
    loader.num_workers = 0
    loader.dataset.indices = images
    if deterministic_views:
        cfg.model.backbone.drop_path_rate = 0.0
        views = [[dict(type='Resize', scale=(64, 64))],
                 [dict(type='Resize', scale=(64, 64)),
                  dict(type='RandomFlip', prob=1.0)]]
        loader.dataset.pipeline[1].transforms = views
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    path = str(tmp_path / f'{name}.py')
    cfg.dump(path)
    return path


def _state(work_dir, epoch):
    return torch.load(osp.join(work_dir, f'epoch_{epoch}.pth'),
                      weights_only=False)


def test_ddp_two_processes_equal_one_process(small_data_cwd, tmp_path):
    one = _config(tmp_path, 'one', images=32, batch=16,
                  deterministic_views=True)
    two = _config(tmp_path, 'two', images=32, batch=8,
                  deterministic_views=True, processes=2)
    common = ['--seed', '0', '--cfg-options', 'train_cfg.max_epochs=1']
    run_tool(['tools/train.py', one, '--work-dir', str(tmp_path / 'w1')] +
             common, cwd=small_data_cwd)
    out = run_tool(['tools/dist_train.sh', two, '2', '--work-dir',
                    str(tmp_path / 'w2')] + common, cwd=small_data_cwd,
                   env={'PORT': str(free_port())})
    assert 'gloo' in out.stdout
    a = _state(str(tmp_path / 'w1'), 1)['state_dict']
    b = _state(str(tmp_path / 'w2'), 1)['state_dict']
    assert int(a['queue_ptr']) == int(b['queue_ptr']) == 32
    assert int(a['momentum_step']) == int(b['momentum_step']) == 2
    # all-gathered keys: rank 0's samples (even positions of the global
    # batch, DefaultSampler) then rank 1's
    order = [2 * c for c in range(8)] + [2 * c + 1 for c in range(8)]
    for queue in ('queue1', 'queue2'):
        for start in (0, 16):
            block_a = a[queue][:, start:start + 16][:, order]
            block_b = b[queue][:, start:start + 16]
            torch.testing.assert_close(block_b, block_a, atol=2e-5,
                                       rtol=1e-4)
        assert not torch.equal(a[queue][:, :16], a[queue][:, 16:])
    for key, value in a.items():
        if value.is_floating_point() and not key.startswith('queue') \
                and key not in NOISE_ONLY:
            torch.testing.assert_close(b[key], value, atol=2e-5, rtol=1e-4,
                                       msg=key)


def test_stop_and_resume_is_bitwise(small_data_cwd, tmp_path):
    config = _config(tmp_path, 'resume', images=32, batch=16)
    common = ['--seed', '0', '--cfg-options']
    full, broken = str(tmp_path / 'full'), str(tmp_path / 'broken')
    run_tool(['tools/train.py', config, '--work-dir', full] + common +
             ['train_cfg.max_epochs=2'], cwd=small_data_cwd)
    run_tool(['tools/train.py', config, '--work-dir', broken] + common +
             ['train_cfg.max_epochs=1'], cwd=small_data_cwd)
    resumed = run_tool(['tools/train.py', config, '--work-dir', broken,
                        '--resume'] + common + ['train_cfg.max_epochs=2'],
                       cwd=small_data_cwd)
    assert 'resumed epoch: 1, iter: 2' in resumed.stdout

    losses = {r['iter']: r['loss'] for r in read_scalars(full) if 'loss' in r}
    again = {r['iter']: r['loss'] for r in read_scalars(broken)
             if 'loss' in r}
    assert sorted(again) == [3, 4]
    assert all(math.isfinite(v) for v in losses.values())
    for it in (3, 4):
        assert again[it] == losses[it], it
    a, b = _state(full, 2), _state(broken, 2)
    for key, value in a['state_dict'].items():
        assert torch.equal(value, b['state_dict'][key]), key
    assert int(a['state_dict']['queue_ptr']) == 0  # wrapped: 4 x 16 = 2 x 32
    for index, state in a['optimizer']['state'].items():
        for name, value in state.items():
            assert torch.equal(value, b['optimizer']['state'][index][name])
