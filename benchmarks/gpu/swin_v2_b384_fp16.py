#!/usr/bin/env python
"""SwinV2-B at 384 px (window 24, pre-trained windows 12, 12, 12, 6) trained
a few steps under fp16 autocast with a ``GradScaler``: does it stay finite?

Our backbone as ``configs/swin_v2/swinv2-base-w24_in21k-pre_16xb64_in1k-
384px.py`` builds it, a linear head, AdamW (lr 1e-4, weight decay 0.05),
random images and labels.  Checks, each printed with its figure:

* every step's loss is finite;
* the scaler skipped at most ``steps - 2`` optimizer steps (it skips a step
  whose scaled gradients overflowed and halves its scale; a few skips at
  the start are its normal calibration), so at least two steps applied;
* every parameter is finite after the steps;
* the eval forward under fp16 autocast matches fp32 (autocast off): largest
  logit difference over the largest fp32 logit, at most ``--tol``.

Also prints the step's images/s and its peak memory.  Exit 1 when a check
fails, and writes the figures to ``--json``.

    python benchmarks/gpu/swin_v2_b384_fp16.py [--batch 16] [--steps 8]
        [--tol 0.05] [--json FILE]

``--device cpu --size 96 --batch 1 --steps 3`` checks this script where no
GPU is at hand (its figures mean nothing).
"""
import argparse
import json
import math
import os.path as osp
import sys
import time
from typing import Dict, List

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _common import synchronize  # noqa: E402


def build_model() -> nn.Module:
    """SwinV2-B 384 px w24 (fine-tuned from w12), with a 1000-class head."""
    import visrep  # noqa: F401  (compatibility layer)
    from swin_v2_speed import _Classifier
    from visrep.projects.swin_v2 import SwinTransformerV2
    backbone = SwinTransformerV2('base', img_size=384, window_size=24,
                                 pretrained_window_sizes=(12, 12, 12, 6),
                                 drop_path_rate=0.2)
    return _Classifier(backbone, dim=1024)


def fp16_vs_fp32(model: nn.Module, x: torch.Tensor, device: str) -> float:
    """Largest logit difference of fp16 autocast vs fp32, relative to the
    largest fp32 logit (eval mode: no drop path)."""
    model.eval()
    with torch.no_grad():
        reference = model(x).float()
        with torch.autocast(device, dtype=torch.float16):
            half = model(x).float()
    model.train()
    return ((half - reference).abs().max() /
            reference.abs().max().clamp_min(1e-12)).item()


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int,
          device: str) -> Dict[str, object]:
    """``steps`` fp16-AMP steps: losses, skipped steps, time per step."""
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    scaler = torch.amp.GradScaler(device)
    losses: List[float] = []
    skipped, times = 0, []
    model.train()
    for step in range(steps):
        synchronize(device)
        start = time.perf_counter()
        optim.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.float16):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scale = scaler.get_scale()
        scaler.step(optim)
        scaler.update()
        synchronize(device)
        times.append(time.perf_counter() - start)
        overflowed = scaler.get_scale() < scale  # the step was skipped
        skipped += overflowed
        losses.append(loss.item())
        print(f'step {step}: loss {losses[-1]:.4f}, scale {scale:g}'
              f'{" (skipped: gradients overflowed)" * overflowed}',
              flush=True)
    return {'losses': losses, 'skipped': skipped,
            'step_s': sorted(times)[len(times) // 2],
            'final_scale': scaler.get_scale()}


def check(args) -> Dict[str, object]:
    """Run the steps and the comparison; the figures and each check."""
    torch.manual_seed(0)
    model = build_model().to(args.device)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size,
                    generator=generator).to(args.device)
    y = torch.randint(0, 1000, (args.batch, ),
                      generator=generator).to(args.device)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    figures: Dict[str, object] = train(model, x, y, args.steps, args.device)
    if args.device == 'cuda':
        figures['peak_mib'] = torch.cuda.max_memory_allocated() / 2**20
    figures['img_s'] = args.batch / figures['step_s']
    figures['rel_diff'] = fp16_vs_fp32(model, x[:2], args.device)
    finite_params = all(torch.isfinite(p).all().item()
                        for p in model.parameters())
    figures['checks'] = {
        'losses finite': all(math.isfinite(v) for v in figures['losses']),
        f'at most {args.steps - 2} steps skipped':
        figures['skipped'] <= args.steps - 2,
        'parameters finite': finite_params,
        f'fp16 vs fp32 logits within {args.tol:g}':
        figures['rel_diff'] <= args.tol,
    }
    figures['ok'] = all(figures['checks'].values())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--steps', type=int, default=8)
    parser.add_argument('--size', type=int, default=384)
    parser.add_argument('--tol', type=float, default=0.05)
    parser.add_argument('--device', choices=['cuda', 'cpu'], default='cuda',
                        help='cpu: a check of this script only')
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args()
    if args.steps < 3:
        parser.error('--steps must be at least 3 (two applied steps and '
                     'room for the scaler to calibrate)')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('no CUDA device here (--device cpu checks this script)')
    figures = check(args)
    print(f'SwinV2-B {args.size} px w24, batch {args.batch}, fp16 AMP: '
          f'{figures["img_s"]:.1f} img/s, '
          f'peak {figures.get("peak_mib", float("nan")):.0f} MiB, '
          f'{figures["skipped"]} of {args.steps} steps skipped, final scale '
          f'{figures["final_scale"]:g}, fp16 vs fp32 logits '
          f'{figures["rel_diff"]:.2e}')
    for name, ok in figures['checks'].items():
        print(f'{"ok  " if ok else "FAIL"} {name}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(figures, f, indent=1)
    sys.exit(0 if figures['ok'] else 1)


if __name__ == '__main__':
    main()
