"""All-gather that carries gradients, for rows that differ in count by rank.

A loss over the rows of every process (a contrastive loss with the other
ranks' negatives, a classifier whose rows are encoded on different ranks)
needs the gathered rows to pass gradients back to the rank that made them.
The backward of the gather sums, over ranks, the gradient each rank's loss
sends to every slice, and returns the slice of this rank: with DDP's
gradient averaging the result equals one process computing the mean loss
of the whole batch.
"""
from typing import List, Tuple

import torch
import torch.distributed as dist


def _is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and \
        dist.get_world_size() > 1


def _gather_sizes(x: torch.Tensor) -> List[int]:
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device)
             for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, torch.tensor([len(x)], device=x.device))
    return [int(s) for s in sizes]


class _GatherWithGrad(torch.autograd.Function):
    """Concatenate each rank's ``(n_r, ...)`` rows; ranks may differ in n_r."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, sizes: List[int]) -> torch.Tensor:
        longest = max(sizes)
        padded = x.new_zeros((longest, ) + x.shape[1:])
        padded[:len(x)] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded)
        ctx.sizes, ctx.rank, ctx.longest = sizes, dist.get_rank(), longest
        return torch.cat([p[:n] for p, n in zip(parts, sizes)])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        sizes, rank, longest = ctx.sizes, ctx.rank, ctx.longest
        padded = grad.new_zeros((len(sizes) * longest, ) + grad.shape[1:])
        start = 0
        for r, n in enumerate(sizes):
            padded[r * longest:r * longest + n] = grad[start:start + n]
            start += n
        dist.all_reduce(padded)  # sum of every rank's loss gradient
        own = padded[rank * longest:rank * longest + sizes[rank]]
        return own.contiguous(), None


def all_gather_with_grad(x: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Rows of every rank in rank order (differentiable), and the row where
    this rank's rows start.  Alone: ``(x, 0)``."""
    if not _is_distributed():
        return x, 0
    sizes = _gather_sizes(x)
    offset = sum(sizes[:dist.get_rank()])
    return _GatherWithGrad.apply(x.contiguous(), sizes), offset
