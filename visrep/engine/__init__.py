"""Runner pieces shared by every plugin: CPU mixed precision, CPU DDP,
no-weight-decay / layer-wise lr decay parameter groups."""
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .cpu_distributed import CPUDistributedDataParallel
from .layerwise_optim_constructor import LayerwiseOptimWrapperConstructor

__all__ = ['CPUAmpOptimWrapper', 'CPUDistributedDataParallel',
           'LayerwiseOptimWrapperConstructor']
