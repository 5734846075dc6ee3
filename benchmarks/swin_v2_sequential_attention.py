#!/usr/bin/env python
"""Sequential self-attention: peak memory of one SwinV2-G-width block.

One shifted res-post-norm block (``SwinV2Block``, MLP ratio 4), batch 1,
forward + backward, with and without ``attn_chunk_size``.  Memory is counted
from tensor storages by :mod:`visrep.engine.activation_memory`: the peak of
what the block allocates (activations, temporaries, the gradients of its
input and parameters; not the parameters or the input) and the bytes it
keeps for backward.

1. **Real run, reduced width** (CPU): C = 64 with G's 16 heads and its
   640 px window (40, N = 1600) on an 80x80 map (4 windows).  Our count is
   checked against PyTorch's ``MemTracker`` (``benchmarks/_common.py``) and
   against the same block on the ``meta`` device.
2. **G width on the meta device** (exact accounting, nothing computed):
   stage 0 (C = 512, 16 heads) and stage 1 (C = 1024, 32 heads) of
   SwinV2-G at 640 px (window 40) and 1536 px (window 32), the paper's
   fine-tuning resolutions, unchunked and in chunks of 4 and 1 windows.

    python benchmarks/swin_v2_sequential_attention.py [--dtype fp32|bf16]
        [--skip-real]
"""
import argparse
import copy
from typing import Dict, List, Optional, Tuple

import torch
from tqdm import tqdm

from _common import machine, peak_tensor_memory_mb

MIB = 2**20
#: (stage, channels, heads, downsampling before the stage) of SwinV2-G
G_STAGES = ((0, 512, 16, 4), (1, 1024, 32, 8))
#: the paper's fine-tuning resolutions and windows (section 4.1)
RESOLUTIONS = ((640, 40), (1536, 32))
CHUNKS = (None, 4, 1)


def block_and_input(dim: int, heads: int, window: int, side: int,
                    chunk: Optional[int], dtype: torch.dtype, device: str):
    """A shifted block and a ``(1, side, side, dim)`` input needing grad."""
    from visrep.projects.swin_v2.block import SwinV2Block
    torch.manual_seed(0)
    block = SwinV2Block(dim, heads, (window, window), shift=True,
                        attn_chunk_size=chunk).to(device, dtype).train()
    x = torch.randn(1, side, side, dim, dtype=dtype, device=device,
                    requires_grad=True)
    return block, x


def account(block, x) -> Tuple[float, float]:
    """(peak MiB, saved-for-backward MiB) of one forward + backward."""
    from visrep.engine.activation_memory import (peak_activation_bytes,
                                                 saved_activation_bytes)
    peak = peak_activation_bytes(block, x)
    saved = saved_activation_bytes(block, x, exclude=[block])
    return peak / MIB, saved / MIB


def attention_matrices_mib(heads: int, window: int, windows: int,
                           itemsize: int) -> float:
    """``(3 w + 1) nH N^2`` elements: at the peak of the attention's
    backward, three matrices per window in flight (the kept softmax, its
    gradient, the logits' gradient) and the position bias (one window's)."""
    n = window * window
    return (3 * windows + 1) * heads * n * n * itemsize / MIB


def real_check(dtype: torch.dtype) -> List[Dict]:
    """Reduced width, real tensors: ours vs MemTracker vs the meta device."""
    rows = []
    dim, heads, window, side = 64, 16, 40, 80
    for chunk in tqdm(CHUNKS, desc='real runs (C=64)'):
        block, x = block_and_input(dim, heads, window, side, chunk, dtype,
                                   'cpu')
        peak, saved = account(block, x)

        def step():
            block(x).backward(torch.ones_like(x))

        step()  # gradients exist before MemTracker's step, as in ours
        tracked = peak_tensor_memory_mb(step, [block])
        existing = sum(t.numel() * t.element_size() for t in
                       list(block.parameters()) + [x]) / MIB
        block.zero_grad(set_to_none=True)
        x.grad = None
        meta = account(copy.deepcopy(block).to('meta'),
                       torch.empty_like(x, device='meta').requires_grad_())
        rows.append(dict(chunk=chunk, peak=peak, saved=saved,
                         memtracker=tracked['total'] - existing,
                         meta_peak=meta[0], meta_saved=meta[1]))
    return rows


def g_width(dtype: torch.dtype) -> List[Dict]:
    """G-width blocks on the meta device."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    cases = [(s, c, h, d, px, w, chunk) for s, c, h, d in G_STAGES
             for px, w in RESOLUTIONS for chunk in CHUNKS]
    rows = []
    for stage, dim, heads, down, px, window, chunk in tqdm(
            cases, desc='G width (meta)'):
        side = px // down
        windows = (-(-side // window))**2
        block, x = block_and_input(dim, heads, window, side, chunk, dtype,
                                   'meta')
        peak, saved = account(block, x)
        rows.append(dict(stage=stage, dim=dim, heads=heads, px=px,
                         window=window, side=side, windows=windows,
                         chunk=chunk, peak=peak, saved=saved,
                         matrices=attention_matrices_mib(
                             heads, window, min(chunk or windows, windows),
                             itemsize)))
    return rows


def print_tables(real: List[Dict], g: List[Dict], dtype: str) -> None:
    if real:
        print(f'\nReal run, C=64, 16 heads, window 40, 80x80 map '
              f'(4 windows), batch 1, {dtype}; MiB')
        print('| attn_chunk_size | peak (ours) | peak (MemTracker) | '
              'peak (meta) | kept for backward (ours / meta) |')
        print('|---|---|---|---|---|')
        for r in real:
            print(f"| {r['chunk'] or 'off'} | {r['peak']:.1f} | "
                  f"{r['memtracker']:.1f} | {r['meta_peak']:.1f} | "
                  f"{r['saved']:.1f} / {r['meta_saved']:.1f} |")
    print(f'\nSwinV2-G-width block, batch 1, {dtype}, meta-device '
          f'accounting; MiB')
    print('| stage (C, heads) | px | tokens | window | windows | '
          'attn_chunk_size | peak | of it attention matrices (model) | '
          'kept for backward | peak vs off |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    unchunked = {}
    for r in g:
        key = (r['stage'], r['px'])
        if r['chunk'] is None:
            unchunked[key] = r['peak']
        print(f"| {r['stage']} ({r['dim']}, {r['heads']}) | {r['px']} | "
              f"{r['side']}x{r['side']} | {r['window']} | {r['windows']} | "
              f"{r['chunk'] or 'off'} | {r['peak']:,.0f} | "
              f"{r['matrices']:,.0f} | {r['saved']:,.0f} | "
              f"{r['peak'] / unchunked[key]:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dtype', choices=('fp32', 'bf16'), default='fp32')
    parser.add_argument('--skip-real', action='store_true',
                        help='only the meta-device accounting')
    args = parser.parse_args()
    dtype = dict(fp32=torch.float32, bf16=torch.bfloat16)[args.dtype]
    print(f'machine: {machine()}; torch {torch.__version__}')
    real = [] if args.skip_real else real_check(dtype)
    print_tables(real, g_width(dtype), args.dtype)


if __name__ == '__main__':
    main()
