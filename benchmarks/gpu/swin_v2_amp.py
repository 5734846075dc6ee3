#!/usr/bin/env python
"""SwinV2-T (256 px, window 8) on a CUDA GPU under AMP: ours vs timm vs
mmpretrain, side by side.

For each precision -- fp16 autocast with a ``GradScaler`` and bf16 autocast
-- the train step (forward, cross-entropy, backward, SGD step with momentum)
and inference, in images/s: all models in the same process, timed in
alternating rounds (``benchmarks/_common.alternating_times``), the median
round counts.  Peak memory is ``torch.cuda.max_memory_allocated`` during a
warm train step of each model alone (parameters, gradients, momentum,
activations, temporaries).  Each throughput is also given as a fraction of
its GEMM bound: the forward's FLOPs per image (``torch.utils.flop_counter``;
a train step counts 3x the forward) times images/s, over the rate of an
8192^3 matrix product in the same dtype measured in the same run.

The models come from ``benchmarks/swin_v2_speed.py``'s ``build`` (all with
the official drop-path rate 0.2).  Ours runs its window attention through
``F.scaled_dot_product_attention`` (its default on CUDA); timm's and
mmpretrain's SwinV2 have no SDPA path (explicit matmul and softmax).  A peer
that cannot be built (e.g. mmpretrain not installed) is reported and left
out; the others still run.

    python benchmarks/gpu/swin_v2_amp.py [--batch 64] [--rounds 10]
        [--precision fp16 bf16] [--json FILE]

``--device cpu`` runs the same code on the CPU (CPU autocast; memory from
``MemTracker``): a check of this script where no GPU is at hand, with tiny
``--batch``/``--gemm-size``; its figures mean nothing.
"""
import argparse
import json
import os.path as osp
import sys
import time
import traceback
from typing import Callable, Dict, List

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import (alternating_times, machine, median,  # noqa: E402
                     peak_tensor_memory_mb, synchronize)
from swin_v2_speed import PEERS, build  # noqa: E402

DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}
IMAGE = 256


class AmpRunner:
    """One model's AMP train step (``GradScaler`` for fp16) and inference."""

    def __init__(self, name: str, batch: int, dtype: torch.dtype,
                 device: str):
        self.device = device
        self.model = build(name).to(device)
        self.optim = torch.optim.SGD(self.model.parameters(), lr=0.01,
                                     momentum=0.9)
        self.dtype = dtype
        self.scaler = torch.amp.GradScaler(
            device, enabled=dtype == torch.float16)
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(batch, 3, IMAGE, IMAGE,
                             generator=generator).to(device)
        self.y = torch.randint(0, 1000, (batch, ),
                               generator=generator).to(device)

    def train_step(self) -> None:
        self.model.train()
        self.optim.zero_grad(set_to_none=True)
        with torch.autocast(self.device, dtype=self.dtype):
            loss = nn.functional.cross_entropy(self.model(self.x), self.y)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optim)
        self.scaler.update()

    def infer_step(self) -> None:
        self.model.eval()
        with torch.no_grad(), \
                torch.autocast(self.device, dtype=self.dtype):
            self.model(self.x)


def gemm_tflops(dtype: torch.dtype, device: str, n: int = 8192,
                reps: int = 10) -> float:
    """Measured rate of an ``n^3`` matrix product in ``dtype``, TFLOP/s."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    synchronize(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def forward_gflop(model: nn.Module, device: str) -> float:
    """FLOPs of one image's forward (matmuls, convolutions, attention)."""
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.randn(1, 3, IMAGE, IMAGE, device=device)
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return counter.get_total_flops() / 1e9


def peak_train_mib(name: str, batch: int, dtype: torch.dtype,
                   device: str) -> float:
    """Peak allocated memory of a warm train step, the model alone, MiB."""
    runner = AmpRunner(name, batch, dtype, device)
    runner.train_step()  # gradients and momentum exist from here on
    if device == 'cpu':
        return peak_tensor_memory_mb(runner.train_step,
                                     (runner.model, runner.optim))['total']
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    runner.train_step()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**20
    del runner
    torch.cuda.empty_cache()
    return peak


def buildable(names: List[str], skipped: Dict[str, str]) -> List[str]:
    """The peers that build; the others go to ``skipped`` with the error."""
    ok = []
    for name in names:
        try:
            build(name)
            ok.append(name)
        except Exception as error:  # a missing toolkit, or a broken one
            skipped[name] = f'{type(error).__name__}: {error}'
            traceback.print_exc()
    return ok


def measure(precision: str, peers: List[str], args) -> dict:
    """Throughput, memory and fraction of the GEMM bound, per peer."""
    dtype = DTYPES[precision]
    runners = {name: AmpRunner(name, args.batch, dtype, args.device)
               for name in peers}
    result = {'gemm_tflops': gemm_tflops(dtype, args.device, args.gemm_size),
              'peers': {}}
    speeds: Dict[str, Dict[str, float]] = {}
    for mode in ('train', 'infer'):
        steps: Dict[str, Callable[[], None]] = {
            name: getattr(r, f'{mode}_step') for name, r in runners.items()}
        times = alternating_times(steps, args.rounds, args.device, warmup=3,
                                  desc=f'{precision} {mode}')
        speeds[mode] = {n: args.batch / median(t) for n, t in times.items()}
    flops = {name: forward_gflop(r.model, args.device)
             for name, r in runners.items()}
    del runners
    bound = result['gemm_tflops'] * 1e3  # GFLOP/s
    for name in peers:
        train, infer = speeds['train'][name], speeds['infer'][name]
        result['peers'][name] = {
            'train_img_s': train,
            'infer_img_s': infer,
            'peak_train_mib': peak_train_mib(name, args.batch, dtype,
                                             args.device),
            'forward_gflop': flops[name],
            'train_of_bound': 3 * flops[name] * train / bound,
            'infer_of_bound': flops[name] * infer / bound,
        }
    return result


def report(results: dict) -> None:
    """The table per precision, then ours vs each peer."""
    for precision, result in results['precisions'].items():
        peers = result['peers']
        print(f'\n{precision} autocast, batch {results["batch"]}, '
              f'GEMM {result["gemm_tflops"]:.0f} TFLOP/s')
        print(f'{"":11s} {"train img/s":>11s} {"of bound":>8s} '
              f'{"infer img/s":>11s} {"of bound":>8s} {"peak MiB":>9s} '
              f'{"GFLOP/img":>9s}')
        for name, p in peers.items():
            print(f'{name:11s} {p["train_img_s"]:11.0f} '
                  f'{p["train_of_bound"]:8.1%} {p["infer_img_s"]:11.0f} '
                  f'{p["infer_of_bound"]:8.1%} {p["peak_train_mib"]:9.0f} '
                  f'{p["forward_gflop"]:9.2f}')
        ours = peers['ours']
        for name, peer in list(peers.items())[1:]:
            print(f'ours / {name}: train '
                  f'{ours["train_img_s"] / peer["train_img_s"]:.2f}x, infer '
                  f'{ours["infer_img_s"] / peer["infer_img_s"]:.2f}x, peak '
                  f'memory {ours["peak_train_mib"] / peer["peak_train_mib"]:.2f}x')
    for name, why in results['skipped'].items():
        print(f'{name}: left out: {why}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--precision', nargs='+', choices=sorted(DTYPES),
                        default=['fp16', 'bf16'])
    parser.add_argument('--gemm-size', type=int, default=8192)
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda',
                        help='cpu: a check of this script only')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('no CUDA device here (--device cpu checks this script; '
                     'benchmarks/swin_v2_speed.py measures on CPU)')
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    start = time.perf_counter()
    skipped: Dict[str, str] = {}
    peers = buildable(list(PEERS), skipped)
    if 'ours' not in peers:
        sys.exit(f'our SwinV2 does not build: {skipped["ours"]}')
    print(f'# {machine(args.device)}, torch {torch.__version__}, batch '
          f'{args.batch}, {args.rounds} rounds, SDPA: ours only')
    results = {'machine': machine(args.device), 'torch': torch.__version__,
               'batch': args.batch, 'rounds': args.rounds,
               'skipped': skipped, 'precisions': {}}
    for precision in args.precision:
        results['precisions'][precision] = measure(precision, peers, args)
    results['seconds'] = time.perf_counter() - start
    report(results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
