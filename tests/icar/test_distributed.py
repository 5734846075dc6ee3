"""Class sharding + all-gather with gradient: 2 processes == 1 process.

Two gloo processes each take half of a mixed batch (labelled + caption
samples), encode half of the class prompts, gather the classifier and the
contrastive negatives with gradient, and average their gradients as DDP
does.  The loss (mean over ranks) and every parameter gradient must equal
one process running the whole batch with all classes.  Then the joint
config trains under tools/dist_train.sh (real DDP, 2 CPU processes).
"""
import math
import os
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from visrep.engine import all_gather_with_grad
from visrep.projects.icar import ICAR, shard_indices
from _helpers import REPO_ROOT, read_scalars, run_tool
from _helpers.ports import free_port
from _helpers.samples import labelled_samples

NAMES = [f'class number {i}' for i in range(7)]  # 7: uneven shards (4 + 3)


def _model() -> ICAR:
    torch.manual_seed(0)
    return ICAR(
        backbone=dict(type='visrep.SwinTransformerV2', img_size=32,
                      window_size=4, drop_path_rate=0.0,
                      arch=dict(embed_dims=8,
                                               depths=(1, 1, 1, 1),
                                               num_heads=(1, 1, 1, 1))),
        text_encoder=dict(type='visrep.ICARTextTransformer', embed_dim=16,
                          width=32, layers=1, heads=2, context_length=12),
        image_channels=64, embed_dim=16,
        class_text=dict(classes=NAMES, description_mode='name',
                        templates=['a photo of {}.', 'the {}', '{}!']))


def _batch():
    g = torch.Generator().manual_seed(1)
    images = torch.randn(8, 3, 32, 32, generator=g)
    labels = [3, 6, -1, -1, 0, 5, -1, -1]
    captions = [None, None, 'a red circle', 'a blue square', None, None,
                'a green star', 'an orange cross']
    return images, labelled_samples(labels, captions)


def _loss_and_grads(model, images, samples, steps=2):
    """Two steps (two template draws); the loss and grads of the last."""
    for _ in range(steps):
        model.zero_grad()
        losses = model.loss(images, samples)
        loss = sum(losses.values())
        loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return loss.detach(), grads


def _worker(rank, world, port, out_path):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        assert shard_indices(len(NAMES))[0] == \
            [[0, 1, 2, 3], [4, 5, 6, 6]][rank]
        x = torch.full((rank + 1, 2), float(rank), requires_grad=True)
        gathered, offset = all_gather_with_grad(x)  # uneven rows
        assert gathered.shape == (3, 2) and offset == rank
        model = _model().train()
        images, samples = _batch()
        half = slice(rank * 4, rank * 4 + 4)
        loss, grads = _loss_and_grads(model, images[half], samples[half])
        dist.all_reduce(loss)
        for g in grads.values():  # DDP: average over ranks
            dist.all_reduce(g)
            g /= world
        if rank == 0:
            torch.save(dict(loss=loss / world, grads=grads), out_path)
    finally:
        dist.destroy_process_group()


def test_two_processes_give_the_loss_and_gradients_of_one(tmp_path):
    out = str(tmp_path / 'rank0.pth')
    # fork: the worker lives in this test file, which spawn cannot import
    mp.start_processes(_worker, args=(2, free_port(), out), nprocs=2,
                       join=True, start_method='fork')
    two = torch.load(out)
    model = _model().train()
    images, samples = _batch()
    loss, grads = _loss_and_grads(model, images, samples)
    assert two['loss'].item() == pytest.approx(loss.item(), rel=1e-5)
    assert set(two['grads']) == set(grads)
    assert any('text_encoder' in n for n in grads)  # the text tower learns
    for name, grad in grads.items():
        # float32 sums in another order: tolerance relative to the tensor
        torch.testing.assert_close(two['grads'][name], grad, rtol=1e-4,
                                   atol=1e-4 * float(grad.abs().max()),
                                   msg=lambda m, n=name: f'{n}: {m}')


@pytest.mark.e2e
def test_joint_config_under_dist_train(small_data_cwd, tmp_path):
    """The gathers inside the forward/backward coexist with DDP's own
    gradient all-reduce (tools/dist_train.sh, 2 CPU processes, gloo)."""
    work_dir = str(tmp_path / 'dist')
    config = osp.join(REPO_ROOT, 'configs', 'icar',
                      'icar_swinv2-tiny_joint_small-imagenet-captions.py')
    run_tool(['tools/dist_train.sh', config, '2', '--work-dir', work_dir,
              '--cfg-options', 'train_cfg.max_iters=3',
              'train_cfg.val_interval=3', 'default_hooks.logger.interval=1',
              'default_hooks.checkpoint.interval=3',
              'train_dataloader.batch_size=8',
              'train_dataloader.sampler.batch_size=8',
              'train_dataloader.num_workers=0',
              'train_dataloader.persistent_workers=False',
              'val_dataloader.num_workers=0',
              'val_dataloader.persistent_workers=False'],
             cwd=small_data_cwd, env={'PORT': str(free_port())},
             timeout=600)
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    assert len(records) == 3
    assert all(math.isfinite(r['loss_cls']) and math.isfinite(r['loss_itc'])
               for r in records)
