"""One FSDP unit per Swin V2 block: ``visrep.swin_v2_block_wrap_policy``
under mmengine's ``FSDPStrategy`` (issue 20), with activation checkpointing
(``with_cp``) and bf16 mixed precision.

FSDP gathers a unit's parameters in the wrapper's ``forward``; the stages
call every block as a module (the window-order fast path and ``with_cp``
included), so each block's wrapper sees each use.  Two gloo processes with
per-block units and ``with_cp`` train the reduced Swin V2 (a shifted block
included) like one process, to 1e-5; bf16 parameters with fp32 reductions
train close to fp32 with fp32 master weights.
"""
import copy

import pytest
import torch
from mmengine.registry import FUNCTIONS
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from visrep.projects.swin_v2 import (SwinTransformerV2, SwinV2Block,
                                     VideoSwinTransformerV2,
                                     swin_v2_block_wrap_policy)
from _helpers.sharded_training import (GLOBAL_BATCH, TINY_SWIN_V2, WORLD,
                                       assert_trains_like, run_forked, train)

#: two blocks in the first stage (the second shifted, with its attention
#: mask), one in the second; activation checkpointing per block
MODEL = copy.deepcopy(TINY_SWIN_V2)
MODEL['backbone'].update(
    arch=dict(embed_dims=16, depths=(2, 1), num_heads=(1, 2)), with_cp=True)
BLOCKS = ['backbone.layers.0.blocks.0', 'backbone.layers.0.blocks.1',
          'backbone.layers.1.blocks.0']

PER_BLOCK = dict(type='visrep.swin_v2_block_wrap_policy')
BF16 = dict(param_dtype='bfloat16', reduce_dtype='float32',
            buffer_dtype='float32')


def _strategy(**model_wrapper) -> dict:
    """mmengine's FSDPStrategy with per-block units, as a config writes it
    ('full': the state dict is gathered, to compare)."""
    return dict(type='FSDPStrategy', state_dict_cfg='full',
                model_wrapper=dict(auto_wrap_policy=PER_BLOCK,
                                   **model_wrapper))


def _units(model: FSDP) -> dict:
    """``{name: wrapped type}`` of the FSDP units below the root."""
    prefix = '_fsdp_wrapped_module.'
    return {name.replace(prefix, ''): type(module.module).__name__
            for name, module in model.named_modules()
            if isinstance(module, FSDP) and module is not model}


def _worker(rank: int, work_dir: str, out: str, strategy: dict) -> None:
    runner, record = train(work_dir, 'pytorch', GLOBAL_BATCH // WORLD,
                           strategy=strategy, model=MODEL)
    if rank == 0:
        dtypes = {p.dtype for p in runner.model.parameters()}
        torch.save(dict(record.summary(), units=_units(runner.model),
                        dtypes=dtypes), out)


def _two_processes(tmp_path, strategy: dict) -> dict:
    out = str(tmp_path / 'rank0.pth')
    run_forked(_worker, str(tmp_path / 'fsdp'), out, strategy)
    return torch.load(out, weights_only=False)


@pytest.fixture(scope='module')
def one_process(tmp_path_factory):
    """The reference: one process, the global batch, fp32."""
    _, record = train(str(tmp_path_factory.mktemp('one')), 'none',
                      GLOBAL_BATCH, model=MODEL)
    return record


def test_each_block_is_a_unit_and_two_processes_train_like_one(
        tmp_path, one_process):
    two = _two_processes(tmp_path, _strategy())
    assert two['units'] == dict.fromkeys(BLOCKS, 'SwinV2Block')
    assert_trains_like(two, one_process)


def test_bf16_parameters_with_fp32_reductions_train(tmp_path, one_process):
    two = _two_processes(tmp_path, _strategy(mixed_precision=BF16))
    assert two['units'] == dict.fromkeys(BLOCKS, 'SwinV2Block')
    # computed in bf16: off fp32 by more than fp32 sharding is (~1e-7),
    # within bf16's resolution
    gaps = [abs(a - b) for a, b in zip(two['losses'], one_process.losses)]
    assert 1e-4 < max(gaps) < 2e-2
    # the sharded master weights and the saved state stay fp32
    assert two['dtypes'] == {torch.float32}
    for name, value in one_process.state.items():
        assert two['state'][name].dtype == value.dtype, name
        torch.testing.assert_close(two['state'][name], value, rtol=0,
                                   atol=2e-2)


def test_the_policy_is_found_by_name_as_mmengine_looks_it_up():
    with FUNCTIONS.switch_scope_and_registry(None):
        assert FUNCTIONS.get(PER_BLOCK['type']) is swin_v2_block_wrap_policy


@pytest.mark.parametrize('backbone', ['image', 'video'])
def test_the_policy_wraps_exactly_the_blocks(backbone):
    model = _backbone(backbone, with_cp=False)
    blocks = {name for name, module in model.named_modules()
              if isinstance(module, SwinV2Block)}
    wrapped = {name for name, module in model.named_modules()
               if swin_v2_block_wrap_policy(module, False, 0)}
    assert len(blocks) == 8 and wrapped == blocks
    assert all(swin_v2_block_wrap_policy(module, True, 0)
               for module in model.modules())


def _backbone(kind: str, with_cp: bool):
    arch = dict(embed_dims=16, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4))
    if kind == 'image':
        return SwinTransformerV2(arch=arch, window_size=4, with_cp=with_cp)
    return VideoSwinTransformerV2(arch=arch, window_size=(2, 4, 4),
                                  with_cp=with_cp)


@pytest.mark.parametrize('with_cp', [False, True], ids=['plain', 'with_cp'])
@pytest.mark.parametrize('backbone', ['image', 'video'])
def test_stages_call_every_block_as_a_module(backbone, with_cp):
    """A wrapper of the block (an FSDP unit) sees every use: the module
    call runs, in the window-order fast path and under checkpointing."""
    model = _backbone(backbone, with_cp).train()
    calls = []
    for name, module in model.named_modules():
        if isinstance(module, SwinV2Block):
            module.register_forward_pre_hook(
                lambda module, args, name=name: calls.append(name))
    shape = (1, 3, 32, 32) if backbone == 'image' else (1, 3, 4, 32, 32)
    model(torch.randn(shape))[-1].sum().backward()
    blocks = [name for name, module in model.named_modules()
              if isinstance(module, SwinV2Block)]
    # each block once forward (and once more in its recomputation)
    assert calls == blocks + (blocks[::-1] if with_cp else [])


def test_a_mask_needs_the_window():
    block = SwinV2Block(8, 1, (4, 4))
    with pytest.raises(ValueError, match='pass window='):
        block(torch.randn(1, 4, 4, 8), mask=torch.zeros(1, 16, 16))
