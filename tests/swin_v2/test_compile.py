"""Swin V2 under ``torch.compile``: no graph breaks (2-D and 3-D, train and
eval), compiled training equal to eager, and ``tools/train.py --compile``."""
import copy

import pytest
import torch

from visrep.cli import train as train_cli
from visrep.projects.swin_v2.swin_transformer_v2 import SwinTransformerV2
from visrep.projects.swin_v2.video_swin_transformer_v2 import \
    VideoSwinTransformerV2
from visrep.projects.swin_v2.windows import is_raster_order, window_order

TINY = dict(embed_dims=16, depths=(2, 2), num_heads=(1, 2))


def _model(dims: int, drop_path_rate: float = 0.1) -> torch.nn.Module:
    torch.manual_seed(0)
    if dims == 2:
        return SwinTransformerV2(arch=TINY, img_size=32, window_size=4,
                                 drop_path_rate=drop_path_rate)
    return VideoSwinTransformerV2(arch=TINY, window_size=(2, 4, 4),
                                  patch_size=(2, 4, 4),
                                  drop_path_rate=drop_path_rate)


def _input(dims: int) -> torch.Tensor:
    shape = (2, 3, 32, 32) if dims == 2 else (2, 3, 4, 32, 32)
    return torch.randn(shape, generator=torch.Generator().manual_seed(1))


def _loss(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return sum(out.square().mean() for out in model(x))


@pytest.mark.parametrize('dims', [2, 3])
@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_no_graph_breaks(dims, mode):
    """Cold caches in train mode; in eval mode after an eager forward has
    filled the window plans and the no-grad position-bias cache (the cache
    compared cpb_mlp weights by value: a data-dependent break)."""
    model, x = _model(dims), _input(dims)
    model.train(mode == 'train')
    torch._dynamo.reset()
    if mode == 'eval':
        with torch.no_grad():
            model(x)
            explanation = torch._dynamo.explain(_loss)(model, x)
    else:
        explanation = torch._dynamo.explain(_loss)(model, x)
    reasons = [b.reason.splitlines()[0] for b in explanation.break_reasons]
    assert explanation.graph_break_count == 0, reasons
    assert explanation.graph_count == 1


@pytest.mark.parametrize('spatial', [(8, 8), (4, 8), (2, 8, 8), (1, 4, 4)])
def test_raster_order_rule_matches_the_order(spatial):
    """The size-only identity rule the window plans use (no tensor values
    read, so no graph break) agrees with the actual token order."""
    import itertools
    choices = [[w for w in (1, 2, 4, 8) if size % w == 0] for size in spatial]
    for window in itertools.product(*choices):
        for shift in itertools.product(
                *[(0, w // 2, size) for w, size in zip(window, spatial)]):
            order = window_order(spatial, window, shift)
            assert is_raster_order(spatial, window, shift) == torch.equal(
                order, torch.arange(len(order))), (window, shift)


@pytest.mark.e2e
def test_compiled_training_matches_eager():
    """Three SGD steps, forward and backward compiled, against the same
    steps in eager mode; then a compiled eval forward.  ``aot_eager``:
    dynamo's full graph through AOTAutograd's joint forward/backward, without
    inductor's code generation (inductor passes too, but takes ~2 min on 2
    cores)."""
    eager = _model(2, drop_path_rate=0.0)
    compiled = copy.deepcopy(eager)
    torch._dynamo.reset()
    step = torch.compile(_loss, backend='aot_eager', fullgraph=True)
    x = _input(2)
    optims = [torch.optim.SGD(m.parameters(), lr=0.5)
              for m in (eager, compiled)]
    for _ in range(3):
        losses = []
        for model, optim, fn in zip((eager, compiled), optims,
                                    (_loss, step)):
            optim.zero_grad()
            loss = fn(model, x)
            loss.backward()
            optim.step()
            losses.append(loss.detach())
        torch.testing.assert_close(losses[1], losses[0], rtol=1e-4,
                                   atol=1e-6)
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.equal(eager.layers[0].blocks[0].attn.qkv.weight,
                           _model(2).layers[0].blocks[0].attn.qkv.weight)
    eager.eval()
    compiled.eval()
    with torch.no_grad():
        torch.testing.assert_close(step(compiled, x), _loss(eager, x),
                                   rtol=1e-4, atol=1e-6)


def test_train_compile_flag_sets_cfg_compile(tmp_path):
    from mmengine.config import Config
    cfg = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    args = train_cli.parse_args(['cfg.py', '--compile'])
    assert train_cli.merge_args(cfg, args).compile is True
    plain = Config(dict(optim_wrapper=dict(optimizer=dict(type='SGD'))))
    merged = train_cli.merge_args(plain, train_cli.parse_args(['cfg.py']))
    assert 'compile' not in merged
    # with a strategy (FlexibleRunner) too: tests/test_cli_strategy.py
