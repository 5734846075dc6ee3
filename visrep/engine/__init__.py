"""Runner pieces shared by every plugin: CPU mixed precision, CPU DDP,
no-weight-decay / layer-wise lr decay parameter groups, batch norm over the
global batch, checkpointed random state and an all-gather with gradient;
memory accounting of training steps (``activation_memory``,
``training_memory``: imported from their modules)."""
from .all_gather import all_gather_with_grad
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .cpu_distributed import CPUDistributedDataParallel
from .global_batch_norm import GlobalBatchNorm1d
from .layerwise_optim_constructor import LayerwiseOptimWrapperConstructor
from .rng_state_hook import RNGStateHook

__all__ = ['CPUAmpOptimWrapper', 'CPUDistributedDataParallel',
           'GlobalBatchNorm1d', 'LayerwiseOptimWrapperConstructor',
           'RNGStateHook', 'all_gather_with_grad']
