"""The Swin V2 memory planner (``visrep/projects/swin_v2/memory_plan.py``)
against measured training steps on CPU.

A reduced SwinV2 classifier trains for real (fp32 AdamW): parameters,
gradients, AdamW states, buffers and caches are measured from the storages
the step leaves, the peak by PyTorch's ``MemTracker`` (not the planner's
counter, nor its meta device); the planner's components and peak agree
within 15 % -- plain, with checkpointing, with sequential attention, both.
Sequential attention lowers a real block's peak by the planned factor.  Two
forked gloo ranks under torch's FSDP (one unit per block) and ZeRO-1 hold
the per-rank bytes the planner plans; the bf16 accounting is the ZeRO
paper's.  The measurements are ``benchmarks/swin_v2_memory_plan.py``'s.
"""
import os.path as osp
import sys

import pytest
import torch
import torch.distributed as dist

from visrep.engine.activation_memory import storage_bytes
from visrep.engine.training_memory import state_bytes
from visrep.projects.swin_v2.block import SwinV2Block
from visrep.projects.swin_v2.memory_plan import (build_classifier,
                                                 plan_memory)
from _helpers.runs import REPO_ROOT, load_script
from _helpers.sharded_training import (TINY_SWIN_V2, WORLD,
                                       optimizer_state_tensors, run_forked)

TOLERANCE = 0.15


def _load_benchmark():
    """The benchmark script (it imports ``_common`` from its folder)."""
    folder = osp.join(REPO_ROOT, 'benchmarks')
    sys.path.insert(0, folder)
    try:
        return load_script('benchmarks/swin_v2_memory_plan.py')
    finally:
        sys.path.remove(folder)


bench = _load_benchmark()


@pytest.mark.parametrize('case', sorted(bench.CASES))
def test_plan_matches_a_measured_training_step(case):
    with_cp, chunk = bench.CASES[case]
    measured = bench.measure_training_step(with_cp, chunk)
    planned = bench.planned(with_cp, chunk)
    for name in bench.COMPONENTS + ('total', ):
        assert planned[name] == pytest.approx(measured[name],
                                              rel=TOLERANCE), name


def test_switches_lower_the_measured_activations():
    """The cases differ where it matters: each switch saves (the agreement
    above is not one figure matched four times)."""
    activations = {case: bench.planned(*settings)['activations']
                   for case, settings in bench.CASES.items()}
    assert activations['plain'] > 1.3 * max(
        activations['with_cp'], activations['attn_chunk_size=2'])
    assert min(activations['with_cp'], activations['attn_chunk_size=2']) \
        > 1.3 * activations['both']


def test_sequential_attention_lowers_a_block_peak_by_the_planned_factor():
    measured = (bench.measure_block_activations(None) /
                bench.measure_block_activations(bench.BLOCK_CHUNK))
    planned = (bench.planned_block_activations(None) /
               bench.planned_block_activations(bench.BLOCK_CHUNK))
    assert planned > 2
    assert measured == pytest.approx(planned, rel=TOLERANCE)


# ------------------------------------------------------------ sharded ranks
def _classifier():
    backbone = TINY_SWIN_V2['backbone']
    return build_classifier(backbone['arch'], backbone['window_size'],
                            num_classes=TINY_SWIN_V2['head']['num_classes'],
                            device='cpu')


def _step(model, optimizer) -> None:
    torch.manual_seed(dist.get_rank())
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()


def _measure_ranks(rank: int, out: str) -> None:
    """Rank 0's parameter and AdamW-state bytes after a step under FSDP
    (one unit per block) and under ZeRO-1 (DDP)."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group('gloo')
    measured = {}
    fsdp = FSDP(_classifier(), device_id=torch.device('cpu'),
                auto_wrap_policy=ModuleWrapPolicy({SwinV2Block}))
    optimizer = torch.optim.AdamW(fsdp.parameters(), lr=1e-3)
    _step(fsdp, optimizer)
    measured['fsdp'] = (storage_bytes(fsdp.parameters()),
                        storage_bytes(optimizer_state_tensors(optimizer)))
    ddp = DDP(_classifier())
    optimizer = ZeroRedundancyOptimizer(ddp.parameters(),
                                        optimizer_class=torch.optim.AdamW,
                                        lr=1e-3)
    _step(ddp, optimizer)
    measured['zero1'] = (storage_bytes(ddp.parameters()),
                         storage_bytes(optimizer_state_tensors(optimizer)))
    if rank == 0:
        torch.save(measured, out)


def test_sharded_bytes_match_two_measured_ranks(tmp_path):
    out = str(tmp_path / 'bytes.pth')
    run_forked(_measure_ranks, out)
    measured = torch.load(out)
    model = _classifier().to('meta')
    for strategy, (params, optim) in measured.items():
        plan = state_bytes(model, strategy, WORLD,
                           unit_types=(SwinV2Block, ))
        assert plan.parameters == pytest.approx(params, rel=TOLERANCE)
        assert plan.optimizer == pytest.approx(optim, rel=TOLERANCE)


# ------------------------------------------------------------ accounting
def test_bf16_bytes_per_parameter():
    """fp32: 4 + 4 + 8 (AdamW's two moments) bytes per parameter; bf16
    under DDP/ZeRO-1: a bf16 model and gradients, an fp32 master copy and
    moments, ZeRO-1 sharding those 12 bytes (the ZeRO paper's 2 + 2 +
    12/N); FSDP's MixedPrecision keeps fp32 shards of the parameters and
    gradients."""
    model = build_classifier('giant', 12)
    numel = sum(p.numel() for p in model.parameters())
    assert 2.9e9 < numel < 3.1e9  # SwinV2-G: "3 billion parameters"
    world = 64

    def per_param(strategy, precision):
        plan = state_bytes(model, strategy, world, precision,
                           unit_types=(SwinV2Block, ))
        return [b / numel for b in (plan.parameters, plan.gradients,
                                    plan.optimizer)]

    for strategy, precision, expected in [
            ('ddp', 'fp32', [4, 4, 8]), ('ddp', 'bf16', [2, 2, 12]),
            ('zero1', 'bf16', [2, 2, 12 / world]),
            ('fsdp', 'bf16', [4 / world, 4 / world, 8 / world])]:
        assert per_param(strategy, precision) == pytest.approx(
            expected, rel=1e-3), (strategy, precision)


@pytest.mark.parametrize('field,kwargs', [
    ('strategy', dict(strategy='zero3')),
    ('precision', dict(precision='fp16')),
    ('world_size', dict(world_size=0)),
    ('batch_size', dict(batch_size=1.5)),
    ('attn_chunk_size', dict(attn_chunk_size=-2)),
])
def test_bad_settings_are_named(field, kwargs):
    with pytest.raises(ValueError, match=field):
        plan_memory(TINY_SWIN_V2['backbone']['arch'], 32, window_size=4,
                    **kwargs)


def test_cli_prints_the_plan_and_the_fit(capsys):
    tool = load_script('tools/analysis_tools/swinv2_memory.py')
    tool.main(['--arch', 't', '--img', '64', '--window', '8',
               '--world-size', '2', '--strategy', 'zero1', '--with-cp',
               '--attn-chunk-size', '4', '--gpu-memory', '0.01', '40'])
    out = capsys.readouterr().out
    plan = plan_memory('tiny', 64, window_size=8, world_size=2,
                       strategy='zero1', with_cp=True, attn_chunk_size=4)
    assert f'| **peak** | **{plan.total / 2**30:,.2f}** |' in out
    assert 'fits in 0.01 GiB: no' in out and 'fits in 40 GiB: yes' in out
