"""A sharded checkpoint saved at iteration K and resumed continues bit for
bit like the uninterrupted run (issue 20).

Two gloo processes train the reduced Swin V2 for ``N`` iterations with a
learning rate that changes every iteration (``LinearLR`` by iteration); the
checkpoint hook saves at iteration ``K``.  A second run resumes from that
checkpoint (``load_from=.../iter_K.pth, resume=True``) and trains on to
``N``.  Its iterations K+1..N equal the first run's exactly (``==``): the
global losses, the learning rates, and on every rank the final parameters
(FSDP: this rank's shards) and AdamW state (``exp_avg``, ``exp_avg_sq``,
``step``).

Covered: ``FSDPStrategy`` with one unit per Swin V2 block, saving sharded
(``'local'``, mmengine's default: one file per rank) and ``'full'`` state
dicts; ZeRO-1 (mmengine's ``ZeroRedundancyOptimizer`` under DDP) with the
FlexibleRunner's ``DDPStrategy`` and with mmengine's ``Runner`` (what the
ZeRO-1 configs use).  Saving ZeRO-1 on two ranks hung without
:mod:`visrep.compat.zero_redundancy_checkpoint`.

The data position: mmengine's ``IterBasedTrainLoop`` advances the
dataloader by the resumed iteration count before training (it loads and
drops the K consumed batches), so with a non-shuffled ``DefaultSampler``
the resumed run sees batches K+1..N.  Every batch here is different, so a
wrong position changes the losses.  mmengine does not save the random
number generators: the model has no stochastic depth in these cases, and
in the last (``fsdp-full-drop-path``, stochastic depth 0.2) the suite's
``visrep.RNGStateHook`` saves and restores them, as the scale configs do.
"""
import copy
import os

import pytest
import torch
import torch.distributed as dist
from mmengine.runner import Runner

from _helpers.sharded_training import (CPU_DDP, GLOBAL_BATCH, TINY_SWIN_V2,
                                       WORLD, ZERO_ADAMW, run_forked, train)

#: iterations of the whole run; the checkpoint's iteration
N, K = 4, 2

#: a new learning rate every iteration
SCHEDULE = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                 end=N)]
CHECKPOINT = dict(type='CheckpointHook', by_epoch=False, interval=K,
                  save_last=False)

FSDP_PER_BLOCK = dict(
    auto_wrap_policy=dict(type='visrep.swin_v2_block_wrap_policy'))

#: the reduced Swin V2 with stochastic depth: draws random numbers every step
DROP_PATH_SWIN_V2 = copy.deepcopy(TINY_SWIN_V2)
DROP_PATH_SWIN_V2['backbone']['drop_path_rate'] = 0.2
CASES = {
    'fsdp-local': dict(strategy=dict(type='FSDPStrategy',
                                     model_wrapper=FSDP_PER_BLOCK)),
    'fsdp-full': dict(strategy=dict(type='FSDPStrategy',
                                    state_dict_cfg='full',
                                    model_wrapper=FSDP_PER_BLOCK)),
    'zero1-ddp-strategy': dict(
        strategy=dict(type='DDPStrategy', model_wrapper=CPU_DDP),
        optimizer=ZERO_ADAMW),
    'zero1-runner': dict(runner_type=Runner,
                         cfg=dict(model_wrapper_cfg=CPU_DDP),
                         optimizer=ZERO_ADAMW),
    'fsdp-full-drop-path': dict(
        strategy=dict(type='FSDPStrategy', state_dict_cfg='full',
                      model_wrapper=FSDP_PER_BLOCK),
        model=DROP_PATH_SWIN_V2, hooks=[dict(type='visrep.RNGStateHook')]),
}

#: a hang (a collective entered by one rank only) fails after this many
#: seconds instead of gloo's 30 minutes
DIST_CFG = dict(backend='gloo', timeout=60)


def _run(work_dir: str, case: str, **extra) -> dict:
    _, record = train(work_dir, 'pytorch', GLOBAL_BATCH // WORLD, steps=N,
                      param_scheduler=SCHEDULE,
                      env_cfg=dict(dist_cfg=DIST_CFG), **CASES[case],
                      **extra)
    return dict(losses=record.losses, lrs=record.lrs,
                params=record.local_params, optim=record.optim_state)


def _worker(rank: int, work_dir: str, case: str, out: str) -> None:
    whole = _run(os.path.join(work_dir, 'whole'), case,
                 checkpoint=CHECKPOINT)
    checkpoint = os.path.join(work_dir, 'whole', f'iter_{K}.pth')
    dist.barrier()  # the checkpoint is written
    layout = sorted(os.listdir(checkpoint)) if os.path.isdir(checkpoint) \
        else 'file'
    resumed = _run(os.path.join(work_dir, 'resumed'), case,
                   load_from=checkpoint, resume=True)
    torch.save(dict(whole=whole, resumed=resumed, layout=layout),
               f'{out}.{rank}')


def _assert_same_optimizer_state(resumed: dict, whole: dict) -> None:
    assert whole and set(resumed) == set(whole)
    for index, state in whole.items():
        assert {'exp_avg', 'exp_avg_sq', 'step'} <= set(state)
        assert set(resumed[index]) == set(state)
        for name, value in state.items():
            assert torch.equal(torch.as_tensor(resumed[index][name]),
                               torch.as_tensor(value)), (index, name)


@pytest.mark.parametrize('case', list(CASES))
def test_resumed_run_continues_bit_for_bit(tmp_path, case):
    out = str(tmp_path / 'summary')
    run_forked(_worker, str(tmp_path / 'runs'), case, out)
    for rank in range(WORLD):
        summary = torch.load(f'{out}.{rank}', weights_only=False)
        whole, resumed = summary['whole'], summary['resumed']
        if case == 'fsdp-local':  # sharded: one file per rank
            assert summary['layout'] == [f'rank{r}.pth' for r in range(WORLD)]
        assert len(set(whole['lrs'])) == N  # a new rate every iteration
        assert len(resumed['losses']) == N - K
        assert resumed['losses'] == whole['losses'][K:]
        assert resumed['lrs'] == whole['lrs'][K:]
        assert set(resumed['params']) == set(whole['params'])
        for name, value in whole['params'].items():
            assert torch.equal(resumed['params'][name], value), name
        _assert_same_optimizer_state(resumed['optim'], whole['optim'])
