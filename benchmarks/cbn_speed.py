#!/usr/bin/env python
"""Train step of ResNet-50 (and ResNet-50 + FPN) with BN vs CBN vs GN.

All three normalisations in the same process, timed in alternating rounds
(BN, CBN, GN, BN, ...) so that drifts of the machine hit them alike:
"vs BN" is the median over the rounds of the ratio to the same round's BN
step, "best vs BN" the ratio of the fastest rounds.  A step is forward,
loss, backward and an SGD step at fp32.  Every norm layer of the model uses the variant (the backbone's 53
BN layers, plus FPN's 8 ConvModule norms in ``r50-fpn``); ``r50-fpn`` also
times ``CBN-FPN``, CBN in FPN only with BN in the backbone (the official
detection setup puts CBN in FPN + heads only).  The CBN layers run with a
full window (``buffer_num`` past iterations, no burn-in): the warm-up steps
fill it before timing.

Peak memory is the peak of live tensor memory during a warm step as
PyTorch's ``MemTracker`` counts it: parameters, gradients, momentum,
activations, temporaries and the CBN windows (plain tensors of the layers,
registered with the tracker as external state).

    python benchmarks/cbn_speed.py [--model r50|r50-fpn|both] [--batch 2]
        [--size 224 | --size 800 1344] [--buffer-num 3] [--rounds 7]
        [--device cpu|cuda] [--pair] [--clock wall|cpu] [--breakdown STEPS]

``--pair`` adds ``CBN-pair``: the same CBN model with
``dnu_in_backward=True`` (``d nu/dW`` stacked with the weight gradient in
the convolution's backward, ``visrep/projects/cbn/fast/conv_pair.py``),
timed in the same rounds.  ``--clock cpu`` times the steps in process CPU
time (``time.process_time``) instead of wall time: on a shared machine it
leaves out the time other tenants hold the cores (run it with
``OMP_NUM_THREADS=1``: spinning worker threads count as CPU time).

``--breakdown STEPS`` (CPU) then runs STEPS more CBN steps with timers
around the layer's parts (``_common.call_times``) and prints
the host time per step of each, as a fraction of BN's step: where CBN's
extra time goes.
"""
import argparse
import time

import torch
from torch import nn

import visrep  # noqa: F401  (the compatibility layer and the visrep scope)
from _common import (alternating_times, call_times, machine,
                     median, peak_tensor_memory_mb, ratios_to)

NORMS = {
    'BN': dict(type='BN', requires_grad=True),
    'CBN': None,  # filled from --buffer-num
    'CBN-pair': None,  # the same, d nu/dW in the conv backward (--pair)
    'GN': dict(type='GN', num_groups=32, requires_grad=True),
}


class Model(nn.Module):
    """mmdet ResNet-50 (+ FPN), all norms of one type, a scalar loss."""

    def __init__(self, norm_cfg: dict, fpn: bool, neck_norm_cfg: dict):
        super().__init__()
        from mmdet.models.backbones import ResNet
        from mmdet.models.necks import FPN
        self.backbone = ResNet(depth=50, norm_cfg=norm_cfg, norm_eval=False,
                               frozen_stages=-1)
        self.neck = FPN([256, 512, 1024, 2048], 256, 5,
                        norm_cfg=neck_norm_cfg) if fpn else None
        self.head = nn.Linear(2048, 1000)

    def forward(self, x, y):
        feats = self.backbone(x)
        if self.neck is None:
            logits = self.head(feats[-1].mean((2, 3)))
            return nn.functional.cross_entropy(logits, y)
        return sum(f.pow(2).mean() for f in self.neck(feats))


class Runner:

    def __init__(self, norm: str, args):
        torch.manual_seed(0)
        if norm == 'CBN-FPN':
            backbone_norm, neck_norm = NORMS['BN'], NORMS['CBN']
        else:
            backbone_norm = neck_norm = NORMS[norm]
        self.model = Model(backbone_norm, args.model == 'r50-fpn',
                           neck_norm).to(args.device).train()
        self.optim = torch.optim.SGD(self.model.parameters(), lr=1e-3,
                                     momentum=0.9)
        generator = torch.Generator().manual_seed(0)
        height, width = args.size
        self.x = torch.randn(args.batch, 3, height, width,
                             generator=generator).to(args.device)
        self.y = torch.randint(0, 1000, (args.batch, ),
                               generator=generator).to(args.device)

    def step(self):
        self.optim.zero_grad(set_to_none=True)
        self.model(self.x, self.y).backward()
        self.optim.step()

    def cbn_layers(self):
        from visrep.projects.cbn import CBN
        return [m for m in self.model.modules() if isinstance(m, CBN)]

    def window_mib(self) -> float:
        return sum(t.numel() * t.element_size() for layer in self.cbn_layers()
                   for t in layer.window.tensors()) / 2**20


def step_times(runners: dict, args) -> dict:
    """Seconds per step of every round (wall or process CPU time,
    ``--clock``); the warm-up also fills the CBN windows."""
    cpu = {name: [] for name in runners}

    def timed(name, step):
        def run():
            start = time.process_time()
            step()
            cpu[name].append(time.process_time() - start)
        return run

    wall = alternating_times({n: timed(n, r.step)
                              for n, r in runners.items()},
                             args.rounds, args.device,
                             warmup=args.buffer_num + 2,
                             desc=f'{args.model} rounds')
    if args.clock == 'wall':
        return wall
    return {name: times[-args.rounds:] for name, times in cpu.items()}


def peak_memory_mib(runner: Runner, args) -> float:
    windows = [t for layer in runner.cbn_layers()
               for t in layer.window.tensors()]
    return peak_tensor_memory_mb(
        runner.step, [runner.model, runner.optim] + windows,
        args.device)['total']


#: the official algorithm's weight-gradient-sized work, of breakdown_targets
DNU_LABEL = 'd nu/dW (a weight-gradient product)'
DOTS_LABEL = '<d nu, W> of the window (weight-sized)'
PAIR_LABEL = 'conv weight grad + d nu/dW, stacked (pair)'


def breakdown_targets() -> dict:
    """CBN's parts, ``label: (owner, name)`` (functions patched in the
    namespace of :mod:`visrep.projects.cbn.cbn`, which calls them)."""
    from visrep.projects.cbn import cbn, pooled_norm, window
    from visrep.projects.cbn.fast import conv_pair
    return {
        DNU_LABEL: (cbn, 'square_gradient_sum'),
        PAIR_LABEL: (conv_pair, '_weight_gradients'),
        'conv backward, pair route, all of it': (conv_pair.ConvPairBackward,
                                                 'backward'),
        DOTS_LABEL: (window.StatWindow, 'weight_dots'),
        '<d mu, W> (weight-sized)': (window.StatWindow, 'weight_products'),
        'd mu/dW': (cbn, 'mean_gradient'),
        'batch moments': (cbn, 'batch_moments'),
        'per-channel step': (cbn.CBN, '_per_channel_step'),
        'normalisation forward': (pooled_norm.NormWithStats, 'forward'),
        'normalisation backward': (pooled_norm.NormWithStats, 'backward'),
        'CBN forward, all of it': (cbn.CBN, 'forward'),
    }


def print_breakdown(runner: Runner, bn_step: float, args) -> None:
    """Host time per step of CBN's parts, against BN's whole step."""
    targets = breakdown_targets()
    with call_times(targets) as totals:
        for _ in range(args.breakdown):
            runner.step()
    print(f'\nwhere CBN\'s time goes ({args.breakdown} steps, '
          f'{len(runner.cbn_layers())} layers; BN step {bn_step * 1e3:.0f} '
          'ms; inclusive):')
    for label in targets:
        per_step = totals[label] / args.breakdown
        print(f'  {label:40s} {per_step * 1e3:8.1f} ms '
              f'{per_step / bn_step:6.2f}x BN step')
    weight_sized = totals[DNU_LABEL] + totals[DOTS_LABEL]
    print(f'  weight-gradient-sized work in the forward (d nu/dW and '
          f'<d nu, W>): {weight_sized / args.breakdown / bn_step:.2f}x '
          'BN\'s step (d nu/dW of the pair route: in its backward row, '
          'with the conv weight gradient BN computes too)')


def run(args) -> None:
    names = [n for n in NORMS if n != 'CBN-pair' or args.pair] + (
        ['CBN-FPN'] if args.model == 'r50-fpn' else [])
    runners = {name: Runner(name, args) for name in names}
    cbn = [layer for name in names if 'CBN' in name
           for layer in runners[name].cbn_layers()]
    assert cbn and all(len(layer.window) == 0 for layer in cbn)
    times = step_times(runners, args)
    assert all(len(layer.window) == args.buffer_num for layer in cbn)
    memory = {name: peak_memory_mib(r, args) for name, r in runners.items()}
    size = 'x'.join(str(s) for s in args.size)
    print(f'\n{args.model}: batch {args.batch}, {size}, '
          f'buffer_num={args.buffer_num}')
    ratios = ratios_to(times, 'BN')  # (paired, best) per norm
    print(f'{"":8s} {"CBN layers":>10s} {"step ms":>9s} {"vs BN":>7s} '
          f'{"best vs BN":>10s} {"peak MiB":>9s} {"vs BN":>7s} '
          f'{"windows MiB":>11s}')
    for name in names:
        runner = runners[name]
        print(f'{name:8s} {len(runner.cbn_layers()):10d} '
              f'{median(times[name]) * 1000:9.0f} '
              f'{ratios[name][0]:6.2f}x '
              f'{ratios[name][1]:9.2f}x {memory[name]:9.0f} '
              f'{memory[name] / memory["BN"]:6.2f}x '
              f'{runner.window_mib():11.0f}')
    if args.breakdown:
        for name in ('CBN', 'CBN-pair'):
            if name in runners:
                print(f'\n{name}:', end='')
                print_breakdown(runners[name], median(times['BN']), args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', choices=['r50', 'r50-fpn', 'both'],
                        default='both')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, nargs='+', default=[224],
                        help='input side, or height and width')
    parser.add_argument('--buffer-num', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--pair', action='store_true',
                        help='also time CBN with dnu_in_backward=True')
    parser.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                        help='wall time, or process CPU time (shared '
                        'machines; use OMP_NUM_THREADS=1)')
    parser.add_argument('--breakdown', type=int, default=0, metavar='STEPS',
                        help='then time the parts of STEPS CBN steps (CPU)')
    args = parser.parse_args()
    if args.breakdown and torch.device(args.device).type != 'cpu':
        parser.error('--breakdown times host calls: CPU only (on a GPU '
                     'the calls return before the kernels finish).')
    if len(args.size) > 2:
        parser.error(f'--size takes a side or a height and a width, got '
                     f'{len(args.size)} numbers.')
    args.size = (args.size * 2)[:2]  # (height, width)
    NORMS['CBN'] = dict(type='visrep.CBN', buffer_num=args.buffer_num,
                        burnin=0, requires_grad=True)
    NORMS['CBN-pair'] = dict(NORMS['CBN'], dnu_in_backward=True)
    print(f'# {machine(args.device)}, torch {torch.__version__}, fp32, '
          f'{args.clock} clock')
    models = ['r50', 'r50-fpn'] if args.model == 'both' else [args.model]
    for model in models:
        args.model = model
        run(args)


if __name__ == '__main__':
    main()
