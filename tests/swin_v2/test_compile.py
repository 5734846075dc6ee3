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


def _graph_targets(model: torch.nn.Module, x: torch.Tensor) -> set:
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(_loss)(model, x)
    assert explanation.graph_break_count == 0
    return {getattr(node.target, '__name__', str(node.target))
            for graph in explanation.graphs for node in graph.graph.nodes}


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_compiled_graph_reads_the_plan_of_img_size(mode):
    """At the configured ``img_size`` a cold compiled graph (no eager
    forward before) reads the stages' plan buffers: no token order
    (argsort) or shift mask (masked_fill) is computed in it.  At another
    size both are computed in the graph, as before."""
    model = _model(2).train(mode == 'train')
    assert not any(stage._plans for stage in model.layers)
    at_img_size = _graph_targets(model, _input(2))
    assert not {'argsort', 'masked_fill'} & at_img_size, at_img_size
    other = _graph_targets(model, torch.randn(1, 3, 48, 48))
    assert {'argsort', 'masked_fill'} <= other


@pytest.mark.parametrize('img_size,window,stages_buffered',
                         [(32, 4, 2), ((32, 64), 4, 2), (64, 8, 2),
                          (40, 4, 0),  # 10x10 and 5x5 maps pad
                          (30, 4, 2),  # padded to whole patches: 8x8
                          (20, 5, 2)])  # merging pads 5x5 to 6x6: 3x3
def test_plan_buffers_equal_the_computed_plan(img_size, window,
                                              stages_buffered):
    """Each stage's buffers hold the plan of exactly the size it sees at
    ``img_size`` (checked with a forward), equal to the plan computed for
    that size; they stay out of the state dict."""
    from visrep.projects.swin_v2.window_plan import window_plan
    torch.manual_seed(0)
    model = SwinTransformerV2(arch=TINY, img_size=img_size,
                              window_size=window).eval()
    sizes = (img_size, ) * 2 if isinstance(img_size, int) else img_size
    seen = {}

    def record(stage, args):
        seen[list(model.layers).index(stage)] = tuple(args[0].shape[1:-1])

    for stage in model.layers:
        stage.register_forward_pre_hook(record)
    with torch.no_grad():
        model(torch.randn(1, 3, *sizes))
    buffered = 0
    for i, stage in enumerate(model.layers):
        computed = window_plan(seen[i], stage._block_layouts(),
                               torch.device('cpu'))
        if stage._buffered_plan is None:
            assert computed is None  # padding: the raster path
            continue
        buffered += 1
        assert stage._buffered_plan[0] == seen[i]
        plan = stage._window_plan(seen[i], torch.device('cpu'))
        steps, back = plan
        for (gather, mask, win), (gather2, mask2, win2) in zip(
                steps, computed[0]):
            assert win == win2
            assert (gather is None) == (gather2 is None)
            assert (mask is None) == (mask2 is None)
            for a, b in zip(gather or (), gather2 or ()):
                assert torch.equal(a, b)
            if mask is not None:
                assert torch.equal(mask, mask2)
        assert (back is None) == (computed[1] is None)
        for a, b in zip(back or (), computed[1] or ()):
            assert torch.equal(a, b)
        assert not stage._plans  # the eager cache was not needed
    assert buffered == stages_buffered
    assert not [k for k in model.state_dict() if 'plan_' in k]


def test_buffered_plan_gives_the_same_outputs():
    """The same weights built for another ``img_size`` (so the plan is
    computed, not read from buffers) give equal outputs."""
    torch.manual_seed(0)
    buffered = SwinTransformerV2(arch=TINY, img_size=32, window_size=4,
                                 out_indices=(0, 1))
    computed = SwinTransformerV2(arch=TINY, img_size=64, window_size=4,
                                 out_indices=(0, 1))
    computed.load_state_dict(buffered.state_dict())
    buffered.eval()
    computed.eval()
    x = _input(2)
    for a, b in zip(buffered(x), computed(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert computed.layers[0]._plans and not buffered.layers[0]._plans
