#!/usr/bin/env python
"""DNL block vs mmcv NonLocal2d vs mmseg DisentangledNonLocal2d, side by side.

At segmentation size (default: 512 input channels, 97x97 -- the stride-8
map of a 769x769 crop -- batch 1, fp32) each block runs forward + backward
(gradients for the input and every parameter, as inside a network) and
forward alone (no grad), in alternating rounds (one of each block per round)
so that drifts of the machine hit all alike; the median round counts.  Peak
memory is the peak of live tensor memory during a forward + backward,
including the input, parameters and gradients, as PyTorch's ``MemTracker``
counts it from tensor storages (the process RSS is too noisy on CPU).

Blocks (all without output norm, at their defaults otherwise):

* ``ours``       -- ``visrep.DNLBlock``, official: value conv C -> C, no
                    output conv (so the attention-value product is 2x as
                    wide as NonLocal2d's);
* ``ours-out``   -- ``visrep.DNLBlock(use_out=True)``: value C -> C/2 and an
                    output conv, the widths of NonLocal2d and mmseg (equal
                    query and value widths: PyTorch's fused SDPA kernel);
* ``ours-out-mm`` -- the same with ``attn_impl='matmul'``;
* ``nonlocal``   -- mmcv ``NonLocal2d`` (embedded Gaussian, reduction 2);
* ``mmseg-dnl``  -- mmseg ``DisentangledNonLocal2d`` (temperature 0.05).

    python benchmarks/dnl_speed.py [--channels 512] [--size 97] [--batch 1]
        [--rounds 5] [--device cpu|cuda]
"""
import argparse
import statistics
import time

import torch
from tqdm import tqdm

PEERS = ('ours', 'ours-out', 'ours-out-mm', 'nonlocal', 'mmseg-dnl')


def build(name: str, channels: int) -> torch.nn.Module:
    if name.startswith('ours'):
        import visrep  # noqa: F401
        from visrep.projects.dnl import DNLBlock
        return DNLBlock(channels, use_out=name != 'ours',
                        attn_impl='matmul' if name.endswith('-mm') else 'auto')
    if name == 'nonlocal':
        from mmcv.cnn import NonLocal2d
        return NonLocal2d(channels)
    if name == 'mmseg-dnl':
        from mmseg.models.decode_heads.dnl_head import DisentangledNonLocal2d
        return DisentangledNonLocal2d(channels, temperature=0.05)
    raise ValueError(name)


class Case:
    """One block with its input and output gradient."""

    def __init__(self, name: str, args):
        torch.manual_seed(0)
        self.block = build(name, args.channels).to(args.device)
        shape = (args.batch, args.channels, args.size, args.size)
        self.x = torch.randn(shape, device=args.device, requires_grad=True)
        self.grad = torch.randn(shape, device=args.device)

    def train_step(self):
        self.block.zero_grad(set_to_none=True)
        self.x.grad = None
        self.block(self.x).backward(self.grad)

    def infer_step(self):
        with torch.no_grad():
            self.block(self.x)


def _sync(device: str):
    if device == 'cuda':
        torch.cuda.synchronize()


def timings(cases: dict, args) -> dict:
    results = {}
    for mode in ('train', 'infer'):
        for case in cases.values():  # warm-up
            getattr(case, f'{mode}_step')()
        times = {name: [] for name in cases}
        for _ in tqdm(range(args.rounds), desc=f'{mode} rounds'):
            for name, case in cases.items():
                _sync(args.device)
                start = time.perf_counter()
                getattr(case, f'{mode}_step')()
                _sync(args.device)
                times[name].append(time.perf_counter() - start)
        results[mode] = {n: statistics.median(t) for n, t in times.items()}
    return results


def peak_memory_mib(case: Case, device: str) -> float:
    """Peak live tensor memory of a warm forward + backward, in MiB."""
    from torch.distributed._tools.mem_tracker import MemTracker
    case.train_step()
    tracker = MemTracker()
    tracker.track_external(case.block, case.x, case.grad)
    with tracker:
        case.train_step()
    snapshot = tracker.get_tracker_snapshot('peak')
    dev = next(d for d in snapshot if torch.device(d).type == device)
    return snapshot[dev][next(k for k in snapshot[dev]
                              if str(k).endswith('Total'))] / 2**20


def machine(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    with open('/proc/cpuinfo') as f:
        model = next((line.split(':', 1)[1].strip() for line in f
                      if line.startswith('model name')), 'CPU')
    return f'{model}, {torch.get_num_threads()} threads'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--channels', type=int, default=512)
    parser.add_argument('--size', type=int, default=97)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    print(f'# {machine(args.device)}, torch {torch.__version__}, fp32, '
          f'input {args.batch}x{args.channels}x{args.size}x{args.size}')
    cases = {name: Case(name, args) for name in PEERS}
    results = timings(cases, args)
    memory = {name: peak_memory_mib(case, args.device)
              for name, case in tqdm(cases.items(), desc='peak memory')}
    print(f'{"":11s} {"fwd+bwd s":>10s} {"fwd s":>8s} {"peak MiB":>9s} '
          f'{"time / NL":>10s} {"mem / NL":>9s}')
    for name in PEERS:
        print(f'{name:11s} {results["train"][name]:10.3f} '
              f'{results["infer"][name]:8.3f} {memory[name]:9.0f} '
              f'{results["train"][name] / results["train"]["nonlocal"]:10.2f}'
              f' {memory[name] / memory["nonlocal"]:9.2f}')


if __name__ == '__main__':
    main()
