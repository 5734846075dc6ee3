#!/usr/bin/env python
"""Check and convert 2:4-pruned Linear weights to semi-structured tensors.

Reads a checkpoint pruned with ``visrep.BalancedSparsityHook(n_m=(2, 4))``
(or its export), lists every masked 2-D weight (every 2-D weight if the file
has no masks) with whether ``torch.sparse.to_sparse_semi_structured`` can
hold it (2:4 pattern, dtype, the backend's shape multiples), and on a CUDA
GPU of compute capability >= 8.0 converts each one, checks
``F.linear`` against the dense weight and times both.  In a model, use
``visrep.projects.balanced_sparsity.semi_structured.to_semi_structured(model,
names)`` after ``model.half().cuda()``.

Exit codes: 0 converted and verified; 2 no convertible layer; 3 this machine
cannot run semi-structured kernels (the check still ran).

    python tools/model_converters/balanced_to_semi_structured.py IN.pth
        [--dtype float16|bfloat16] [--batch 128] [--layers REGEX ...]
"""
import argparse
import re
import sys

import torch

import visrep  # noqa: F401
from visrep.projects.balanced_sparsity.hook import CHECKPOINT_KEY
from visrep.projects.balanced_sparsity.semi_structured import (
    cuda_problem, semi_structured_backend, weight_problems)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint')
    parser.add_argument('--dtype', default='float16',
                        choices=['float16', 'bfloat16'])
    parser.add_argument('--batch', type=int, default=128,
                        help='rows of the input of the verification matmul')
    parser.add_argument('--layers', nargs='+',
                        help='regular expressions of the weights to consider')
    return parser.parse_args(argv)


def candidates(checkpoint: dict, patterns) -> dict:
    state_dict = checkpoint.get('state_dict', checkpoint)
    masks = (checkpoint.get(CHECKPOINT_KEY) or {}).get('masks') or {}
    names = masks or [n for n, v in state_dict.items()
                      if n.endswith('weight') and torch.is_tensor(v)]
    return {n: state_dict[n] for n in names
            if state_dict[n].dim() == 2
            and (not patterns or any(re.search(p, n) for p in patterns))}


def _time_cuda(fn, repeats=50) -> float:
    for _ in range(5):
        fn()
    start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / repeats


def verify_on_gpu(name, weight, dtype, batch) -> str:
    import torch.nn.functional as F
    dense = weight.to('cuda', dtype).contiguous()
    sparse = torch.sparse.to_sparse_semi_structured(dense)
    x = torch.randn(batch, dense.shape[1], device='cuda').to(dtype)
    diff = (F.linear(x, sparse).float() - F.linear(x, dense).float()).abs()
    t_dense = _time_cuda(lambda: F.linear(x, dense))
    t_sparse = _time_cuda(lambda: F.linear(x, sparse))
    return (f'max |diff| {diff.max().item():.3g}, dense {t_dense:.4f} ms, '
            f'2:4 {t_sparse:.4f} ms ({t_dense / t_sparse:.2f}x)')


def main(argv=None):
    args = parse_args(argv)
    dtype = getattr(torch, args.dtype)
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint, 'cpu')
    weights = candidates(checkpoint, args.layers)
    backend = semi_structured_backend().BACKEND
    print(f'semi-structured backend: {backend}, dtype {args.dtype}')
    convertible = []
    for name, weight in weights.items():
        problems = weight_problems(weight, dtype)
        shape = 'x'.join(str(s) for s in weight.shape)
        print(f'{name} [{shape}]: ' + ('2:4, convertible' if not problems
                                       else 'not convertible: ' +
                                       '; '.join(problems)))
        if not problems:
            convertible.append(name)
    if not convertible:
        print('no convertible Linear weight.')
        return 2
    problem = cuda_problem()
    if problem:
        print(f'{problem}: {len(convertible)} layers passed the 2:4 check, '
              'but none was converted; run this on an Ampere (sm80) or newer '
              'GPU.')
        return 3
    for name in convertible:
        print(f'{name}: ' + verify_on_gpu(name, weights[name], dtype,
                                          args.batch))
    return 0


if __name__ == '__main__':
    sys.exit(main())
