"""mmengine's FSDPStrategy on CPU processes (gloo), through the FlexibleRunner.

Two processes under FSDP (one unit per Swin V2 block, every parameter
sharded) train a reduced-depth Swin V2 classifier for three AdamW steps; the
global loss of each step and the parameters afterwards equal those of one
process with the same global batch, with and without gradient-norm clipping; each
rank holds at most 0.55x of the parameter and AdamW-state bytes; a
checkpoint saved and resumed restores the optimizer state.  What mmengine's
strategy needed for that is :mod:`visrep.compat.fsdp_strategy`: ``device_id``
and no state-dict offload on CPU, clipping by the norm of the whole gradient
instead of each rank's shard, and torch>=2.1's ``optim_state_dict_to_load``.
"""
import os
from typing import Optional

import pytest
import torch
import torch.distributed as dist
from mmengine.runner import FlexibleRunner
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from visrep.compat.fsdp_strategy import (clip_by_global_norm,
                                         with_cpu_device_id)
from _helpers.sharded_training import (GLOBAL_BATCH, WORLD,
                                       assert_trains_like, run_forked, train)

#: mmengine's FSDPStrategy as a config writes it: one FSDP unit per Swin V2
#: block (the rest in the root unit); 'full' state dicts are gathered on
#: rank 0 (mmengine's preset, which offloads to the CPU).
FSDP_STRATEGY = dict(
    type='FSDPStrategy',
    state_dict_cfg='full',
    model_wrapper=dict(auto_wrap_policy=dict(
        type='visrep.swin_v2_block_wrap_policy')))


def _resume_restores_the_optimizer(runner: FlexibleRunner) -> bool:
    """Save a checkpoint, clobber the AdamW moments, resume from it: the
    moments come back."""
    optimizer = runner.optim_wrapper.optimizer
    before = [state['exp_avg'].clone() for state in optimizer.state.values()]
    runner.save_checkpoint(runner.work_dir, 'iter_3.pth')
    dist.barrier()  # rank 0 writes the 'full' checkpoint
    for state in optimizer.state.values():
        state['exp_avg'].zero_()
    runner.resume(os.path.join(runner.work_dir, 'iter_3.pth'))
    after = [state['exp_avg'] for state in optimizer.state.values()]
    return bool(before) and len(after) == len(before) and all(
        torch.equal(a, b) for a, b in zip(after, before))


def _worker(rank: int, work_dir: str, out: str,
            clip_grad: Optional[dict]) -> None:
    runner, record = train(work_dir, 'pytorch', GLOBAL_BATCH // WORLD,
                           clip_grad, FSDP_STRATEGY)
    resumed = _resume_restores_the_optimizer(runner)
    if rank == 0:
        torch.save(dict(record.summary(), resumed=resumed), out)


def _two_process_fsdp(tmp_path, clip_grad: Optional[dict]) -> dict:
    out = str(tmp_path / 'fsdp_rank0.pth')
    run_forked(_worker, str(tmp_path / 'fsdp'), out, clip_grad)
    return torch.load(out, weights_only=False)


@pytest.mark.parametrize('clip_grad', [None, dict(max_norm=0.05)],
                         ids=['plain', 'clip_grad'])
def test_two_fsdp_processes_train_like_one(tmp_path, clip_grad):
    # one process first: the forked workers inherit its imports
    _, one_process = train(str(tmp_path / 'one'), 'none', GLOBAL_BATCH,
                           clip_grad)
    two = _two_process_fsdp(tmp_path, clip_grad)
    assert two['resumed']  # rank 0's optimizer state, saved and resumed
    # parameters and AdamW moments really are sharded (DDP holds what one
    # process does)
    assert (two['param_bytes'] + two['optim_bytes'] <= 0.55 * (
        one_process.param_bytes + one_process.optim_bytes))
    assert_trains_like(two, one_process)


def test_default_device_id_is_the_cpu_without_cuda():
    assert with_cpu_device_id(None) == dict(
        type='MMFullyShardedDataParallel', device_id=torch.device('cpu'))
    mine = dict(type='MMFullyShardedDataParallel', device_id=3)
    assert with_cpu_device_id(mine)['device_id'] == 3


def test_clip_grad_arguments_fsdp_cannot_take_are_named():
    from mmengine.optim import OptimWrapper
    param = torch.nn.Parameter(torch.ones(2))
    wrapper = OptimWrapper(torch.optim.SGD([param], lr=0.1),
                           clip_grad=dict(max_norm=1.0, foreach=True))
    root = FSDP.__new__(FSDP)  # the type is what is checked
    with pytest.raises(ValueError, match=r"clip_grad has \['foreach'\]"):
        clip_by_global_norm(wrapper, root)


#: weight decay on weights only: mmengine's constructor decides by shape
NO_DECAY_ON_NORMS_AND_BIASES = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       flat_decay_mult=0.0))


def _decay_by_name(runner) -> dict:
    """Each parameter's weight decay, by its unwrapped name."""
    from visrep.compat.fsdp_strategy import _plain_name
    names = {id(p): _plain_name(n).removeprefix('module.')
             for n, p in runner.model.named_parameters()}
    return {names[id(p)]: group['weight_decay']
            for group in runner.optim_wrapper.optimizer.param_groups
            for p in group['params']}


def _decay_worker(rank: int, work_dir: str, out: str) -> None:
    runner, _ = train(work_dir, 'pytorch', GLOBAL_BATCH // WORLD,
                      strategy=FSDP_STRATEGY, steps=1,
                      optim_wrapper=NO_DECAY_ON_NORMS_AND_BIASES)
    if rank == 0:
        torch.save(_decay_by_name(runner), out)


def test_shape_rules_of_the_optimizer_see_unsharded_parameters(tmp_path):
    # under FSDP every parameter is a 1-D shard: a constructor deciding by
    # shape took every weight for a norm or bias and dropped its decay
    one, _ = train(str(tmp_path / 'one'), 'none', GLOBAL_BATCH, steps=1,
                   optim_wrapper=NO_DECAY_ON_NORMS_AND_BIASES)
    expected = _decay_by_name(one)
    decayed = {n for n, wd in expected.items() if wd > 0}
    assert decayed and len(decayed) < len(expected)  # both kinds present
    out = str(tmp_path / 'decay.pth')
    run_forked(_decay_worker, str(tmp_path / 'fsdp'), out)
    assert torch.load(out) == expected
