"""Data-parallel training of CPU processes (gloo)."""
import logging

from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from torch.nn.modules.batchnorm import SyncBatchNorm

from visrep.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for modules that live on the CPU.

    mmengine passes ``device_ids=[LOCAL_RANK]``, which DDP rejects for CPU
    modules, and PyTorch's ``SyncBatchNorm`` only runs on accelerators.  This
    wrapper drops ``device_ids`` and reverts SyncBN layers to per-process
    BatchNorm (with a warning: statistics are then not synchronised across
    processes).  ``tools/train.py`` selects it for distributed runs when CUDA
    is not available.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        has_sync_bn = any(
            isinstance(m, SyncBatchNorm) for m in module.modules())
        if has_sync_bn:
            print_log(
                'SyncBatchNorm needs a GPU; on CPU it is reverted to '
                'per-process BatchNorm (statistics are not synchronised).',
                logger='current', level=logging.WARNING)
            module = revert_sync_batchnorm(module)
        super().__init__(module=module, device_ids=None, **kwargs)
