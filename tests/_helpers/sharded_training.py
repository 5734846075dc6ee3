"""Shared machinery of the sharded-training tests (FSDP, ZeRO-1): a reduced
Swin V2 classifier trained for a few AdamW steps by mmengine's
``FlexibleRunner`` (or ``Runner``), in one process or in forked gloo
processes, recording the global loss and learning rate of each step, the
final parameters and optimizer state, and the bytes each rank holds."""
import copy
import itertools
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

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

#: ZeRO-1: mmengine's ZeroRedundancyOptimizer sharding AdamW's states
ZERO_ADAMW = dict(type='ZeroRedundancyOptimizer', optimizer_type='AdamW',
                  lr=1e-3, weight_decay=0.05)

#: the DDP wrapper of CPU processes (no ``device_ids``)
CPU_DDP = dict(type='visrep.CPUDistributedDataParallel',
               broadcast_buffers=False)


#: makes each runner's experiment (logger, message hub) name unique
_RUNS = itertools.count()


def _dataset(steps: int = STEPS) -> List[dict]:
    """``GLOBAL_BATCH * steps`` fixed images and labels: a different batch
    every step (no epoch restart within ``steps``)."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(GLOBAL_BATCH * steps, 3, 32, 32, generator=g) * 255
    return [dict(inputs=image, data_samples=DataSample().set_gt_label(i % 4))
            for i, image in enumerate(images)]


def _local_optimizer(optimizer):
    """This rank's optimizer (ZeRO's local shard lives in its ``optim``)."""
    return getattr(optimizer, 'optim', optimizer)


def optimizer_state_tensors(optimizer) -> List[torch.Tensor]:
    """The state tensors this rank's optimizer holds."""
    return [value for state in _local_optimizer(optimizer).state.values()
            for value in state.values() if isinstance(value, torch.Tensor)]


def local_optimizer_state(optimizer) -> dict:
    """A copy of the per-parameter state (``exp_avg``, ``exp_avg_sq``,
    ``step``) of this rank's optimizer (ZeRO's: its local shard)."""
    return copy.deepcopy(_local_optimizer(optimizer).state_dict()['state'])


def _model_state_dict(runner) -> Dict[str, torch.Tensor]:
    """The model's state dict as the strategy (FlexibleRunner) or the DDP
    wrapper (Runner) saves it, without the wrapper's 'module.' prefix."""
    strategy = getattr(runner, 'strategy', None)
    state = strategy.model_state_dict() if strategy is not None else \
        getattr(runner.model, 'module', runner.model).state_dict()
    return {name.removeprefix('module.'): value
            for name, value in state.items()}


class Record(Hook):
    """The global (all-reduced) loss and the learning rate of every step
    and, after training, the full parameters, this rank's parameters and
    optimizer state (FSDP: its shards) and the bytes they take."""

    def __init__(self):
        self.losses: List[float] = []
        self.lrs: List[float] = []
        self.state: Optional[Dict[str, torch.Tensor]] = None
        self.local_params: Dict[str, torch.Tensor] = {}
        self.optim_state: dict = {}
        self.param_bytes = 0
        self.optim_bytes = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        loss = torch.as_tensor(outputs['loss'], dtype=torch.float64)
        if dist.is_initialized():
            dist.all_reduce(loss)
            loss /= dist.get_world_size()
        self.losses.append(loss.item())
        # the step's rate: the scheduler (a LOW-priority hook) steps later
        self.lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    def after_train(self, runner):
        self.state = _model_state_dict(runner)
        self.local_params = {name: param.detach().clone() for name, param
                             in runner.model.named_parameters()}
        self.optim_state = local_optimizer_state(
            runner.optim_wrapper.optimizer)
        self.param_bytes = storage_bytes(runner.model.parameters())
        self.optim_bytes = storage_bytes(
            optimizer_state_tensors(runner.optim_wrapper.optimizer))

    def summary(self) -> dict:
        """What a worker sends back to the test."""
        return dict(losses=self.losses, lrs=self.lrs, state=self.state,
                    local_params=self.local_params,
                    optim_state=self.optim_state, param_bytes=self.param_bytes,
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
          optimizer: dict = ADAMW, model: dict = TINY_SWIN_V2,
          steps: int = STEPS, checkpoint: Optional[dict] = None,
          runner_type: type = FlexibleRunner, hooks: Sequence[dict] = (),
          **runner_args) -> Tuple[FlexibleRunner, Record]:
    """Train ``model`` (``TINY_SWIN_V2``) for ``steps`` iterations (a new
    batch each) with ``runner_type`` (mmengine's ``Runner`` takes no
    ``strategy``); the runner and record.  ``hooks``: more custom hooks.  ``checkpoint``: the checkpoint
    hook's config (None: no checkpoints); ``runner_args`` go to the runner
    and win (``param_scheduler``, ``load_from``, ``resume``, ``env_cfg``,
    ``Runner``'s ``cfg=dict(model_wrapper_cfg=...)``, ...)."""
    record = Record()
    args = dict(
        model=copy.deepcopy(model),
        work_dir=work_dir,
        experiment_name=f'sharded_{launcher}_{os.getpid()}_{next(_RUNS)}',
        train_dataloader=dict(
            dataset=_dataset(steps), batch_size=batch_size, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=copy.deepcopy(optimizer),
                           clip_grad=clip_grad),
        train_cfg=dict(by_epoch=False, max_iters=steps),
        default_hooks=dict(checkpoint=copy.deepcopy(checkpoint)),
        custom_hooks=[record, *copy.deepcopy(list(hooks))],
        launcher=launcher,
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0),
        default_scope='mmpretrain',
        log_level='WARNING')
    if strategy is not None:
        args['strategy'] = copy.deepcopy(strategy)
    args.update(runner_args)
    runner = runner_type(**args)
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


def _import_the_toolkit() -> None:
    """What building the runner imports (mmpretrain's modules, the Swin V2
    plugin): imported once in the parent, not again in every child."""
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import visrep.projects.swin_v2  # noqa: F401


def run_forked(worker: Callable, *args) -> None:
    """``worker(rank, *args)`` in ``WORLD`` forked gloo processes (fork: a
    worker defined in a test file, which spawn cannot import, inherits the
    parent's imports)."""
    _import_the_toolkit()
    mp.start_processes(_entry, nprocs=WORLD, start_method='fork',
                       args=(free_port(), worker, args))
