#!/usr/bin/env python
"""Two DistributedDataParallel training steps of our SwinV2-T: NCCL on the
GPUs of one machine (one process per GPU), gloo on CPU processes elsewhere.

    torchrun --nproc_per_node N benchmarks/gpu/ddp_two_steps.py
        [--batch 8] [--size 256] [--json FILE]

Each rank trains on its own random batch (bf16 autocast on CUDA, fp32 on
CPU; SGD with momentum).  Checks after the two steps: every loss is finite
and every rank holds the same parameters -- a checksum of all parameters,
all-gathered, equal to rank 0's bit for bit, as DDP's averaged gradients
promise -- and the parameters moved from their initial values.  Rank 0
prints the figures and writes ``--json``; exit 1 when a check fails.
"""
import argparse
import json
import math
import os
import sys
import time
from typing import List

import torch
import torch.distributed as dist
from torch import nn


def build_model() -> nn.Module:
    """Our SwinV2-T (window 8) with a 1000-class head."""
    import visrep  # noqa: F401  (compatibility layer)
    from visrep.projects.swin_v2 import SwinTransformerV2

    class Classifier(nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = SwinTransformerV2('tiny', window_size=8)
            self.head = nn.Linear(768, 1000)

        def forward(self, x):
            return self.head(self.backbone(x)[-1].mean((2, 3)))

    return Classifier()


def checksum(model: nn.Module) -> torch.Tensor:
    """Sum and sum of squares of all parameters, in fp64."""
    flat = torch.cat([p.detach().double().flatten()
                      for p in model.parameters()])
    return torch.stack([flat.sum(), flat.square().sum()])


def gather(value: torch.Tensor) -> List[torch.Tensor]:
    """``value`` of every rank."""
    values = [torch.empty_like(value) for _ in range(dist.get_world_size())]
    dist.all_gather(values, value)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--json', help='rank 0 writes the figures here')
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        parser.error('start it with torchrun --nproc_per_node N')
    cuda = torch.cuda.is_available()
    local_rank = int(os.environ['LOCAL_RANK'])
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group('nccl' if cuda else 'gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device('cuda', local_rank) if cuda else torch.device('cpu')
    torch.manual_seed(0)  # the same initial weights on every rank
    model = nn.parallel.DistributedDataParallel(
        build_model().to(device), device_ids=[local_rank] if cuda else None)
    before = checksum(model.module)
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(100 + rank)  # own data
    losses, start = [], time.perf_counter()
    for _ in range(2):
        x = torch.randn(args.batch, 3, args.size, args.size,
                        generator=generator).to(device)
        y = torch.randint(0, 1000, (args.batch, ),
                          generator=generator).to(device)
        optim.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optim.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    sums = gather(checksum(model.module))
    all_losses = gather(torch.tensor(losses, dtype=torch.float64,
                                     device=device))
    checks = {
        'losses finite': all(math.isfinite(v) for t in all_losses
                             for v in t.tolist()),
        'same parameters on every rank': all(torch.equal(s, sums[0])
                                             for s in sums),
        'parameters moved': not torch.equal(sums[0], before),
    }
    if rank == 0:
        figures = {'backend': dist.get_backend(), 'world_size': world,
                   'losses': [t.tolist() for t in all_losses],
                   'seconds': seconds, 'checks': checks,
                   'ok': all(checks.values())}
        print(f'DDP {figures["backend"]}, {world} ranks, 2 steps of '
              f'SwinV2-T at {args.size} px, batch {args.batch} per rank: '
              f'{seconds:.1f} s; losses per rank {figures["losses"]}')
        for name, ok in checks.items():
            print(f'{"ok  " if ok else "FAIL"} {name}')
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(figures, f, indent=1)
    dist.destroy_process_group()
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == '__main__':
    main()
