"""Cross-Iteration Batch Normalization (Yao et al., CVPR 2021) as an
OpenMMLab plugin.

Registers ``visrep.CBN`` (a norm layer for ``norm_cfg`` in any mm* model)
and ``visrep.CBNBurnInHook`` (burn-in given in epochs).  See README.md.
"""
from .binding import CBNBindingError
from .burnin_hook import CBNBurnInHook
from .cbn import CBN
from .conv_call import ConvCall, find_conv_call
from .moment_grads import moment_gradients
from .window import StatWindow

__all__ = ['CBN', 'CBNBindingError', 'CBNBurnInHook', 'ConvCall',
           'StatWindow', 'find_conv_call', 'moment_gradients']
