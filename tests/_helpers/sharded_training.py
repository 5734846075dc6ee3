"""Shared machinery of the sharded-training tests (FSDP, ZeRO-1): a reduced
Swin V2 classifier trained for a few AdamW steps by mmengine's
``FlexibleRunner``, in one process or in forked gloo processes, recording the
global loss, the final parameters and the bytes each rank holds."""
import copy
import os
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.hooks import Hook
from mmengine.runner import FlexibleRunner
from mmpretrain.structures import DataSample

from visrep.engine.activation_memory import storage_bytes

from _helpers.ports import free_port

WORLD = 2
GLOBAL_BATCH = 4
STEPS = 3

TINY_SWIN_V2 = dict(
    type='ImageClassifier',
    backbone=dict(
        type='visrep.SwinTransformerV2',
        arch=dict(embed_dims=16, depths=(1, 1), num_heads=(1, 2)),
        img_size=32, window_size=4, drop_path_rate=0.0, out_indices=(1, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=4, in_channels=32,
              loss=dict(type='CrossEntropyLoss')))

ADAMW = dict(type='AdamW', lr=1e-3, weight_decay=0.05)


def _dataset() -> List[dict]:
    """``GLOBAL_BATCH * STEPS`` fixed images and labels."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(GLOBAL_BATCH * STEPS, 3, 32, 32, generator=g) * 255
    return [dict(inputs=image, data_samples=DataSample().set_gt_label(i % 4))
            for i, image in enumerate(images)]


def optimizer_state_tensors(optimizer) -> List[torch.Tensor]:
    """The state tensors this rank's optimizer holds (ZeRO's local shard
    lives in its inner ``optim``)."""
    local = getattr(optimizer, 'optim', optimizer)
    return [value for state in local.state.values()
            for value in state.values() if isinstance(value, torch.Tensor)]


class Record(Hook):
    """The global (all-reduced) loss of every step and, after training,
    the full parameters and the parameter and optimizer-state bytes this
    rank holds."""

    def __init__(self):
        self.losses: List[float] = []
        self.state: Optional[Dict[str, torch.Tensor]] = None
        self.param_bytes = 0
        self.optim_bytes = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        loss = torch.as_tensor(outputs['loss'], dtype=torch.float64)
        if dist.is_initialized():
            dist.all_reduce(loss)
            loss /= dist.get_world_size()
        self.losses.append(loss.item())

    def after_train(self, runner):
        # a DDP wrapper's state dict names the model 'module.'
        self.state = {name.removeprefix('module.'): value for name, value
                      in runner.strategy.model_state_dict().items()}
        self.param_bytes = storage_bytes(runner.model.parameters())
        self.optim_bytes = storage_bytes(
            optimizer_state_tensors(runner.optim_wrapper.optimizer))

    def summary(self) -> dict:
        """What a worker sends back to the test."""
        return dict(losses=self.losses, state=self.state,
                    param_bytes=self.param_bytes,
                    optim_bytes=self.optim_bytes)


def assert_trains_like(summary: dict, reference: Record) -> None:
    """A worker's global losses and final parameters equal the reference
    run's to 1e-5."""
    assert summary['losses'] == pytest.approx(reference.losses, abs=1e-5)
    assert set(summary['state']) == set(reference.state)
    for name, value in reference.state.items():
        torch.testing.assert_close(summary['state'][name], value, rtol=0,
                                   atol=1e-5,
                                   msg=lambda m, n=name: f'{n}: {m}')


def train(work_dir: str, launcher: str, batch_size: int,
          clip_grad: Optional[dict] = None, strategy: Optional[dict] = None,
          optimizer: dict = ADAMW) -> Tuple[FlexibleRunner, Record]:
    """Train ``TINY_SWIN_V2`` for ``STEPS`` steps; the runner and record."""
    record = Record()
    runner = FlexibleRunner(
        model=TINY_SWIN_V2,
        work_dir=work_dir,
        experiment_name=f'sharded_{launcher}_{os.getpid()}',
        train_dataloader=dict(
            dataset=_dataset(), batch_size=batch_size, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=copy.deepcopy(optimizer),
                           clip_grad=clip_grad),
        train_cfg=dict(by_epoch=False, max_iters=STEPS),
        strategy=copy.deepcopy(strategy),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[record],
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        default_scope='mmpretrain',
        log_level='WARNING')
    runner.train()
    return runner, record


def _entry(rank: int, port: int, worker: Callable, args: tuple) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    try:
        worker(rank, *args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_forked(worker: Callable, *args) -> None:
    """``worker(rank, *args)`` in ``WORLD`` forked gloo processes (fork: a
    worker defined in a test file, which spawn cannot import, inherits the
    parent's imports)."""
    mp.start_processes(_entry, nprocs=WORLD, start_method='fork',
                       args=(free_port(), worker, args))
