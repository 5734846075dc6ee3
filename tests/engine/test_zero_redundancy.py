"""ZeRO stage 1 under plain DDP: mmengine's ``ZeroRedundancyOptimizer``
(torch's, building its local optimizer from a type name) on CPU processes.

Two gloo processes under ``DDPStrategy`` with the AdamW states sharded train
a reduced-depth Swin V2 classifier for three steps; the global loss of each
step and the parameters afterwards equal those of one process with the same
global batch.  Each rank then holds about half of the AdamW moments (stage 1
shards only the optimizer state: the parameters stay replicated).
"""
import torch

from _helpers.sharded_training import (CPU_DDP, GLOBAL_BATCH, WORLD,
                                       ZERO_ADAMW, assert_trains_like,
                                       run_forked, train)

#: plain DDP; on CPU through our wrapper without ``device_ids``
DDP_STRATEGY = dict(type='DDPStrategy', model_wrapper=CPU_DDP)


def _worker(rank: int, work_dir: str, out: str) -> None:
    _, record = train(work_dir, 'pytorch', GLOBAL_BATCH // WORLD,
                      strategy=DDP_STRATEGY, optimizer=ZERO_ADAMW)
    torch.save(record.summary(), f'{out}.{rank}')


def test_zero1_under_ddp_trains_like_one_process(tmp_path):
    # one process first: the forked workers inherit its imports
    _, one = train(str(tmp_path / 'one'), 'none', GLOBAL_BATCH)
    out = str(tmp_path / 'zero')
    run_forked(_worker, str(tmp_path / 'zero_run'), out)
    ranks = [torch.load(f'{out}.{r}', weights_only=False)
             for r in range(WORLD)]
    for rank in ranks:
        assert_trains_like(rank, one)
    # each rank holds about 1/WORLD of the AdamW states, all parameters
    for rank in ranks:
        assert rank['optim_bytes'] <= 0.55 * one.optim_bytes
        assert rank['param_bytes'] == one.param_bytes
    assert sum(r['optim_bytes'] for r in ranks) >= one.optim_bytes
