"""Batch norm over the global batch of all processes, on any backend."""
import torch
import torch.distributed as dist
from torch import nn

from visrep.registry import MODELS


def _world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


@MODELS.register_module()
class GlobalBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` with SyncBN statistics that also works on CPU (gloo)
    (``type='visrep.GlobalBatchNorm1d'``).

    PyTorch's ``SyncBatchNorm`` runs on accelerators only, and
    :class:`~visrep.engine.CPUDistributedDataParallel` reverts it to
    per-process BN; this layer instead all-reduces ``[sum x, sum x^2, n]``
    (differentiably, ``torch.distributed.nn``) and normalises with the
    global batch mean and biased variance, updating the running statistics
    with the unbiased one, as SyncBN does.  With one process (or in eval
    mode) it is ``nn.BatchNorm1d``.  State-dict keys are those of
    ``nn.BatchNorm1d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or _world_size() == 1:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce
        channels = x.shape[1]
        count = torch.full((1, ), float(x.shape[0]), dtype=x.dtype,
                           device=x.device)
        stats = all_reduce(torch.cat([x.sum(0), (x * x).sum(0), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels:2 * channels] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else \
                    1.0 / float(self.num_batches_tracked)
                unbiased = var * (total / (total - 1))
                self.running_mean.mul_(1 - momentum).add_(mean * momentum)
                self.running_var.mul_(1 - momentum).add_(unbiased * momentum)
        out = (x - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            out = out * self.weight + self.bias
        return out
