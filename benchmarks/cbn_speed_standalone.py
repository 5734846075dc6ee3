#!/usr/bin/env python
"""CBN without the OpenMMLab toolkits: ResNet-50 step time on any device,
and the exactness of that device's code paths.

For machines with PyTorch, torchvision and mmengine but without the mm*
toolkits or mmcv's compiled ops (e.g. a GPU box): the CBN plugin
(``visrep/projects/cbn``) needs only torch and mmengine, so it is imported
here without running ``visrep/__init__.py`` (whose compatibility layer loads
every toolkit): a stand-in ``visrep`` package finds its subpackages on disk,
and a stand-in ``visrep.registry`` takes the registrations;
``benchmarks/_common.py`` is loaded by path.

1. Exactness: a small conv net with CBN after every conv (3x3, widening and
   biased pointwise, grouped strided, small-output and strided pointwise
   convs: every ``d nu`` route) trained 8 SGD steps on ``--device`` in fp64
   and in fp32 (TF32 off), each against the same run on CPU in fp64: the
   largest relative error of the losses and of the final state (the CBN
   windows included).  On CUDA also 10 steps with and without the layer's
   CUDA graphs (fp32, and fp32 under bf16 autocast): equal bit for bit?
   And with TF32 allowed, are the window's gradients still fp32?
2. Speed: torchvision's ResNet-50 (the architecture of mmdet's ResNet-50,
   ``style='pytorch'``) with BN, CBN (``buffer_num=3``, full window) or
   GN(32) in every norm layer, a forward, cross-entropy, backward and SGD
   step at batch 2, timed in alternating rounds as in
   ``benchmarks/cbn_speed.py`` (vs BN: median of the per-round ratios).
   Precisions: ``fp32`` (TF32 off), ``tf32`` (cuDNN's TF32 convolutions,
   PyTorch's default on CUDA), ``bf16`` (autocast).

    python benchmarks/cbn_speed_standalone.py [--device cuda]
        [--size 224 224 --size 800 1344] [--precision fp32 tf32 bf16]
        [--rounds 30] [--skip-exactness]
"""
import argparse
import functools
import importlib.util
import os.path as osp
import sys
import types

import torch
import torchvision
from torch import nn

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _import_cbn_alone():
    """``visrep.projects.cbn`` and ``_common.py``, without running
    ``visrep/__init__.py``."""
    from mmengine.registry import Registry
    registry = types.ModuleType('visrep.registry')
    registry.MODELS = Registry('model', scope='visrep')
    registry.HOOKS = Registry('hook', scope='visrep')
    package = types.ModuleType('visrep')  # its __init__ is not run
    package.__path__ = [osp.join(REPO, 'visrep')]
    sys.modules.update({'visrep': package, 'visrep.registry': registry})
    spec = importlib.util.spec_from_file_location(
        '_common', osp.join(REPO, 'benchmarks', '_common.py'))
    benchmarking = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmarking)
    from visrep.projects.cbn import CBN
    return CBN, benchmarking


CBN, benchmarking = _import_cbn_alone()


def _set_tf32(enabled: bool) -> None:
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


# --------------------------------------------------------------- exactness
def _small_net(dtype, device):
    torch.manual_seed(0)
    norm = functools.partial(CBN, buffer_num=3, burnin=0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), norm(8), nn.ReLU(),
        nn.Conv2d(8, 32, 1, bias=False), norm(32), nn.ReLU(),
        nn.Conv2d(32, 16, 1), norm(16), nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=2), norm(16),
        nn.ReLU(),
        nn.Conv2d(16, 24, 3, padding=1), norm(24), nn.ReLU(),
        nn.Conv2d(24, 48, 1, stride=2), norm(48),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(48, 5)).to(device=device, dtype=dtype)


def _train_small(dtype, device, steps=8, cuda_graphs=True, bf16=False):
    net = _small_net(dtype, device)
    for module in net.modules():
        if isinstance(module, CBN):
            module.cuda_graphs = cuda_graphs
    optim = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        x = torch.randn(2, 3, 8, 8, generator=generator, dtype=torch.float64)
        y = torch.randint(0, 5, (2, ), generator=generator)
        with torch.autocast(torch.device(device).type, torch.bfloat16,
                            enabled=bf16):
            logits = net(x.to(device=device, dtype=dtype))
        if bf16:
            logits = logits.float()
        loss = nn.functional.cross_entropy(logits, y.to(device))
        loss.backward()
        optim.step()
        optim.zero_grad()
        losses.append(loss.item())
    state = {k: v.detach().double().cpu()
             for k, v in net.state_dict().items()
             if v.is_floating_point() and v.numel()}
    graphs = sum(len(m._graphs) for m in net.modules()
                 if isinstance(m, CBN))
    return losses, state, graphs


def fp32_with_tf32_allowed(device: str) -> None:
    """The window's identity ``<dnu, W> = 2 (var + mu <dmu, W>)`` with
    cuDNN's and cuBLAS' TF32 allowed: the layer's statistics stay fp32."""
    from visrep.projects.cbn.window import window_identity_error
    torch.manual_seed(0)
    conv = nn.Conv2d(32, 64, 3, padding=1).to(device)
    layer = CBN(64, buffer_num=2).to(device)
    _set_tf32(True)
    for _ in range(3):
        layer(conv(torch.randn(2, 32, 16, 16, device=device) + 1))
    error = window_identity_error(layer.window, conv.weight)
    print(f'TF32 allowed: window identity holds to {error:.1e} (fp32: about'
          f' 1e-7, TF32: 1e-3); TF32 still on after: '
          f'{torch.backends.cudnn.allow_tf32}')
    _set_tf32(False)


def graphs_equal_eager(device: str) -> None:
    """CUDA graph replays (:mod:`visrep.projects.cbn.fast.cuda_graph`)
    against the same training run without graphs: equal bit for bit."""
    for bf16 in (False, True):
        runs = [_train_small(torch.float32, device, 10, graphs, bf16)
                for graphs in (True, False)]
        (losses, state, graphs), (losses_ref, state_ref, _) = runs
        equal = losses == losses_ref and all(
            torch.equal(state[k], state_ref[k]) for k in state)
        print(f'CUDA graphs vs none, float32{" + bf16 autocast" * bf16}, '
              f'10 SGD steps: bit for bit equal: {equal} ({graphs} graphs '
              'replayed)')


def exactness(device: str) -> None:
    _set_tf32(False)
    ref_losses, ref_state, _ = _train_small(torch.float64, 'cpu')
    assert any(k.endswith('cbn_dnu') for k in ref_state)
    for dtype in (torch.float64, torch.float32):
        losses, state, _ = _train_small(dtype, device)
        loss_error = max(abs(a - b) / abs(b)
                         for a, b in zip(losses, ref_losses))
        state_error = max(
            ((state[k] - v).abs().max() / v.abs().max().clamp(min=1e-30))
            .item() for k, v in ref_state.items())
        print(f'exactness, {device} {dtype} vs cpu float64, 8 SGD steps: '
              f'losses {loss_error:.1e}, state (CBN windows included) '
              f'{state_error:.1e} (max relative errors)')


# ------------------------------------------------------------------- speed
NORMS = {
    'BN': nn.BatchNorm2d,
    'CBN': functools.partial(CBN, buffer_num=3, burnin=0),
    'GN': lambda channels: nn.GroupNorm(32, channels),
}


class Runner:

    def __init__(self, norm: str, size, device: str, bf16: bool):
        torch.manual_seed(0)
        self.model = torchvision.models.resnet50(
            norm_layer=NORMS[norm]).to(device).train()
        self.optim = torch.optim.SGD(self.model.parameters(), lr=1e-3,
                                     momentum=0.9)
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(2, 3, *size, generator=generator).to(device)
        self.y = torch.randint(0, 1000, (2, ),
                               generator=generator).to(device)
        self.device, self.bf16 = device, bf16

    def step(self):
        self.optim.zero_grad(set_to_none=True)
        with torch.autocast(torch.device(self.device).type, torch.bfloat16,
                            enabled=self.bf16):
            logits = self.model(self.x)
        nn.functional.cross_entropy(logits.float(), self.y).backward()
        self.optim.step()

    def windows(self):
        return [t for m in self.model.modules() if isinstance(m, CBN)
                for t in m.window.tensors()]


def speed(device: str, size, precision: str, rounds: int) -> None:
    _set_tf32(precision == 'tf32')
    torch.backends.cudnn.benchmark = True
    runners = {name: Runner(name, size, device, precision == 'bf16')
               for name in NORMS}
    times = benchmarking.alternating_times(
        {name: r.step for name, r in runners.items()}, rounds, device,
        warmup=8, desc=f'{size[0]}x{size[1]} {precision}')
    memory = {
        name: benchmarking.peak_tensor_memory_mb(
            r.step, [r.model, r.optim] + r.windows(), device)['total']
        for name, r in runners.items()
    }
    ratios = benchmarking.ratios_to(times, 'BN')  # (paired, best)
    print(f'\nResNet-50 (torchvision), batch 2, {size[0]}x{size[1]}, '
          f'{precision}, {rounds} rounds, {benchmarking.machine(device)}')
    print(f'{"":4s} {"step ms":>9s} {"vs BN":>7s} {"best vs BN":>10s} '
          f'{"peak MiB":>9s} {"vs BN":>7s} {"windows MiB":>11s}')
    for name, runner in runners.items():
        paired, best = ratios[name]
        window = sum(t.numel() * t.element_size()
                     for t in runner.windows()) / 2**20
        print(f'{name:4s} {benchmarking.median(times[name]) * 1e3:9.1f} '
              f'{paired:6.2f}x {best:9.2f}x '
              f'{memory[name]:9.0f} {memory[name] / memory["BN"]:6.2f}x '
              f'{window:11.0f}', flush=True)
    del runners
    if device.startswith('cuda'):
        torch.cuda.empty_cache()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--size', type=int, nargs=2, action='append',
                        metavar=('H', 'W'),
                        help='input size; repeat for several (default 224 '
                        '224 and 800 1344)')
    parser.add_argument('--precision', nargs='+', default=['fp32'],
                        choices=['fp32', 'tf32', 'bf16'])
    parser.add_argument('--rounds', type=int, default=30)
    parser.add_argument('--skip-exactness', action='store_true')
    args = parser.parse_args()
    if 'tf32' in args.precision and not args.device.startswith('cuda'):
        parser.error('--precision tf32 needs a CUDA --device')
    print(f'torch {torch.__version__}, {benchmarking.machine(args.device)}')
    if not args.skip_exactness:
        exactness(args.device)
        if args.device.startswith('cuda'):
            graphs_equal_eager(args.device)
            fp32_with_tf32_allowed(args.device)
    for precision in args.precision:
        for size in args.size or [(224, 224), (800, 1344)]:
            speed(args.device, tuple(size), precision, args.rounds)


if __name__ == '__main__':
    main()
