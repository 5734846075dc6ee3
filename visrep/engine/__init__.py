"""Runner pieces shared by every plugin: CPU mixed precision and CPU DDP."""
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .cpu_distributed import CPUDistributedDataParallel

__all__ = ['CPUAmpOptimWrapper', 'CPUDistributedDataParallel']
