#!/usr/bin/env python
"""Video SwinV2-T vs mmaction2's Video Swin (V1) T: inference, side by side.

Both backbones at the same size -- tiny arch, patch 2x4x4, window 8x7x7,
one Kinetics view of 32 frames at 224 px by default -- in the same process,
alternating rounds (median counts), equal precision (fp32, or bf16
autocast).  Throughput in clips/s of the backbone forward without
gradients; peak live tensor memory of one forward (MemTracker).  V2 does
more work per token than V1 (cosine attention with normalised q/k, the
position-bias MLP, post-norms), so this measures its cost, not a race
between equals.

    python benchmarks/video_swin_v2_speed.py [--frames 32] [--size 224]
        [--batch 1] [--rounds 3] [--precision fp32|bf16] [--device cpu]
"""
import argparse

import torch

from _common import (alternating_times, machine, median,
                     peak_tensor_memory_mb)

PEERS = ('ours (V2)', 'mmaction2 (V1)')


def build(name: str) -> torch.nn.Module:
    if name == PEERS[0]:
        import visrep  # noqa: F401
        from visrep.projects.swin_v2 import VideoSwinTransformerV2
        return VideoSwinTransformerV2('tiny', patch_size=(2, 4, 4),
                                      window_size=(8, 7, 7))
    from mmaction.models.backbones import SwinTransformer3D
    return SwinTransformer3D('tiny', patch_size=(2, 4, 4),
                             window_size=(8, 7, 7), pretrained2d=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=32)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--precision', choices=['fp32', 'bf16'],
                        default='fp32')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    torch.manual_seed(0)
    dtype = torch.bfloat16 if args.precision == 'bf16' else None
    x = torch.randn(args.batch, 3, args.frames, args.size, args.size,
                    device=args.device)
    models = {name: build(name).to(args.device) for name in PEERS}
    for model in models.values():
        model.eval()  # (mmaction2's train() returns None: no chaining)

    def forward(model):
        def step():
            with torch.no_grad(), torch.autocast(
                    torch.device(args.device).type, dtype=dtype,
                    enabled=dtype is not None):
                return model(x)
        return step

    steps = {name: forward(m) for name, m in models.items()}
    shapes = {name: tuple(step().shape) for name, step in steps.items()}
    times = alternating_times(steps, args.rounds, args.device,
                              desc='inference rounds')
    memory = {name: peak_tensor_memory_mb(steps[name], (models[name], ),
                                          args.device)
              for name in PEERS}
    print(f'# {machine(args.device)}, torch {torch.__version__}, '
          f'{args.batch} x {args.frames} x {args.size}^2, {args.precision}')
    print(f'{"":16s} {"clips/s":>9s} {"peak MiB":>9s}  output')
    for name in PEERS:
        print(f'{name:16s} {args.batch / median(times[name]):9.3f} '
              f'{memory[name]["total"]:9.0f}  {shapes[name]}')
    ours, peer = PEERS
    print(f'ours / mmaction2: throughput '
          f'{median(times[peer]) / median(times[ours]):.2f}x, peak memory '
          f'{memory[ours]["total"] / memory[peer]["total"]:.2f}x')


if __name__ == '__main__':
    main()
