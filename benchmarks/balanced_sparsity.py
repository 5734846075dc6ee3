#!/usr/bin/env python
"""Balanced sparsity: mask upkeep per train step, and sparse matmul speed.

``overhead``: a ResNet-50 train step (forward, cross-entropy, backward, SGD
with momentum; fp32) with and without the per-iteration work of
``visrep.BalancedSparsityHook`` on every pruned layer (75 %, banks of 32,
every conv/linear except the stem and the classifier): the gradient mask in
backward, and -- with ``reapply_after_step=True``, or ``'auto'`` for an
optimizer not known to keep zeros -- the weight mask after
``optimizer.step()`` (``'auto'`` with SGD: gradient mask only).  Same model,
same process, alternating rounds (plain, auto, True, plain, ...); the median
round counts.  Both operations are also timed alone, and so is one mask
update (ranking all pruned weights), which the hook runs only at schedule
updates.

``matmul``: ``W @ X`` for a balanced-sparse ``W`` as a dense matrix
(``torch.mm``, MKL) vs as a CSR matrix (``torch.sparse.mm``, MKL sparse) --
the sparse kernel PyTorch has on CPU; balanced sparsity has no dedicated CPU
kernel -- for several sparsities and bank sizes, plus unstructured
(magnitude, per matrix) sparsity at the same density for comparison;
alternating dense / CSR repetitions, median, fp32.

``semi``: on a CUDA GPU (compute capability >= 8.0), fp16 ``F.linear`` with
a dense vs a 2:4 semi-structured weight; elsewhere it says why not.

    python benchmarks/balanced_sparsity.py overhead [--batch 8] [--size 224]
        [--rounds 10]
    python benchmarks/balanced_sparsity.py matmul [--rows 4096] [--cols 4096]
        [--n 64 1]
    python benchmarks/balanced_sparsity.py semi
"""
import argparse
import re
import statistics
import time
import warnings

import torch
from tqdm import tqdm

import visrep  # noqa: F401
from visrep.projects.balanced_sparsity import (MaskKeeper, balanced_mask,
                                        pruned_per_bank, select_layers)
from visrep.projects.balanced_sparsity.semi_structured import cuda_problem


def describe_machine() -> str:
    with open('/proc/cpuinfo') as f:
        found = re.search(r'^model name\s*:\s*(.+)$', f.read(), re.M)
    cpu = found.group(1) if found else 'unknown CPU'
    return (f'{cpu}, {torch.get_num_threads()} threads, torch '
            f'{torch.__version__}')


# -- overhead ---------------------------------------------------------------


def _resnet50():
    from mmpretrain.models import ImageClassifier
    return ImageClassifier(
        backbone=dict(type='ResNet', depth=50),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048))


def overhead(args) -> None:
    torch.manual_seed(0)
    model = _resnet50().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                                weight_decay=1e-4)
    layers, _ = select_layers(model, 0.75, 32)
    keeper = MaskKeeper()
    start = time.perf_counter()
    for layer in layers:
        keeper.set_mask(layer.param_name, layer.weight,
                        balanced_mask(layer.weight, 0.75, 32, name=layer.name))
    keeper.apply()
    update_s = time.perf_counter() - start
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(0, 1000, (args.batch, ))

    def step():
        loss = torch.nn.functional.cross_entropy(
            model.head.fc(model.neck(model.backbone(x))[-1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    variants = {'plain': None, "masked, reapply 'auto'": 'auto',
                'masked, reapply True': True}
    times = {name: [] for name in variants}
    for _ in range(args.warmup):
        step()
    bar = tqdm(total=args.rounds * len(variants) * args.steps,
               desc='train steps')
    for _ in range(args.rounds):
        for name, reapply in variants.items():
            if reapply is not None:
                keeper.attach([optimizer], reapply)
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
                bar.update()
            times[name].append((time.perf_counter() - start) / args.steps)
            keeper.detach()
    bar.close()
    # the two per-step operations alone, on gradients of the real shapes
    for layer in layers:
        layer.weight.grad = torch.randn_like(layer.weight)
    ops = {'gradient mask': [], 'weight mask': []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        for name in keeper.params:
            keeper._mask_grad(name, keeper.params[name].grad)
        ops['gradient mask'].append(time.perf_counter() - start)
        start = time.perf_counter()
        keeper.apply()
        ops['weight mask'].append(time.perf_counter() - start)
    pruned = sum(layer.weight.numel() for layer in layers)
    median = {name: statistics.median(t) for name, t in times.items()}
    plain = median['plain']
    print(f'# {describe_machine()}')
    print(f'ResNet-50, batch {args.batch} at {args.size} px, fp32, SGD '
          f'momentum; {len(layers)} layers / {pruned / 1e6:.1f}M weights '
          'at 75 % (banks of 32); median of '
          f'{args.rounds} alternating rounds of {args.steps} step(s)')
    for name, value in median.items():
        print(f'train step, {name:22s}: {value:.3f} s  '
              f'{100 * (value / plain - 1):+5.1f} %  (rounds: '
              + ', '.join(f'{t:.3f}' for t in times[name]) + ')')
    for name, values in ops.items():
        value = statistics.median(values)
        print(f'{name} alone: {1e3 * value:.1f} ms = '
              f'{100 * value / plain:.1f} % of a plain step')
    print(f'one mask update (rank all pruned weights): {update_s:.2f} s = '
          f'{update_s / plain:.1f} train steps (only at schedule updates)')


# -- matmul -----------------------------------------------------------------


def _median_pair(fn_a, fn_b, reps):
    a, b = [], []
    for _ in range(reps):
        for fn, out in ((fn_a, a), (fn_b, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def _unstructured(weight, sparsity):
    kept = weight.numel() - int(sparsity * weight.numel())
    threshold = weight.abs().flatten().kthvalue(weight.numel() - kept).values
    return weight.abs() > threshold


def matmul(args) -> None:
    torch.manual_seed(0)
    weight = torch.randn(args.rows, args.cols)
    # a bank of B can only prune multiples of 1/B: skip what it cannot hold
    cases = [(s, b) for s in args.sparsities for b in args.banks
             if abs(pruned_per_bank(s, b) / b - s) < 1e-9]
    cases += [(s, None) for s in args.sparsities]  # unstructured
    rows = []
    for n in args.n:
        x = torch.randn(args.cols, n)
        for sparsity, bank in tqdm(cases, desc=f'matmul N={n}'):
            keep = (_unstructured(weight, sparsity) if bank is None else
                    balanced_mask(weight, sparsity, bank))
            dense = weight * keep
            with warnings.catch_warnings():  # "CSR support is in beta"
                warnings.simplefilter('ignore', UserWarning)
                csr = dense.to_sparse_csr()
            t_dense, t_csr = _median_pair(lambda: torch.mm(dense, x),
                                          lambda: torch.sparse.mm(csr, x),
                                          args.reps)
            rows.append((n, 1 - keep.float().mean().item(), bank, t_dense,
                         t_csr))
    print(f'# {describe_machine()}')
    print(f'W {args.rows}x{args.cols} @ X {args.cols}xN, fp32, median of '
          f'{args.reps} alternating repetitions')
    print(f'{"N":>4s} {"sparsity":>8s} {"pattern":>14s} {"dense ms":>9s} '
          f'{"CSR ms":>8s} {"CSR speedup":>11s}')
    for n, sparsity, bank, t_dense, t_csr in rows:
        pattern = 'unstructured' if bank is None else f'banks of {bank}'
        print(f'{n:4d} {sparsity:8.4f} {pattern:>14s} {1e3 * t_dense:9.2f} '
              f'{1e3 * t_csr:8.2f} {t_dense / t_csr:10.2f}x')


# -- semi-structured --------------------------------------------------------


def semi(args) -> None:
    problem = cuda_problem()
    if problem:
        print(f'semi-structured 2:4: not run here: {problem}.')
        return
    import torch.nn.functional as F
    print(f'# {torch.cuda.get_device_name()}, torch {torch.__version__}, '
          'fp16')
    for rows, cols in tqdm(((4096, 4096), (11008, 4096), (16384, 8192)),
                           desc='2:4 linear'):
        weight = torch.randn(rows, cols, device='cuda', dtype=torch.half)
        weight = weight * balanced_mask(weight, 0.5, 4)
        sparse = torch.sparse.to_sparse_semi_structured(weight)
        x = torch.randn(args.tokens, cols, device='cuda', dtype=torch.half)
        times = {}
        for name, w in (('dense', weight), ('2:4', sparse)):
            for _ in range(10):
                F.linear(x, w)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(100):
                F.linear(x, w)
            torch.cuda.synchronize()
            times[name] = (time.perf_counter() - start) / 100
        print(f'{rows}x{cols}, {args.tokens} tokens: dense '
              f'{1e3 * times["dense"]:.3f} ms, 2:4 {1e3 * times["2:4"]:.3f} '
              f'ms, {times["dense"] / times["2:4"]:.2f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='what', required=True)
    p = sub.add_parser('overhead')
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', type=int, default=224)
    p.add_argument('--rounds', type=int, default=10)
    p.add_argument('--steps', type=int, default=1)
    p.add_argument('--warmup', type=int, default=2)
    p = sub.add_parser('matmul')
    p.add_argument('--rows', type=int, default=4096)
    p.add_argument('--cols', type=int, default=4096)
    p.add_argument('--n', type=int, nargs='+', default=[64, 1])
    p.add_argument('--sparsities', type=float, nargs='+',
                   default=[0.5, 0.75, 0.875, 0.9375])
    p.add_argument('--banks', type=int, nargs='+', default=[4, 16, 64])
    p.add_argument('--reps', type=int, default=7)
    p = sub.add_parser('semi')
    p.add_argument('--tokens', type=int, default=2048)
    args = parser.parse_args()
    dict(overhead=overhead, matmul=matmul, semi=semi)[args.what](args)


if __name__ == '__main__':
    main()
