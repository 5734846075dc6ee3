"""The official Swin / ViT weight initialisation (``_init_weights``).

microsoft/Swin-Transformer (V1 and V2), SimMIM and BEiT initialise every
Linear (ViT: and Conv2d) weight with ``trunc_normal(std=0.02)``, its bias
with zeros, and LayerNorms to weight 1 / bias 0; mmpretrain leaves several
of these at PyTorch's defaults.  The truncation bounds are absolute, as in
timm's ``trunc_normal_``: +-2 by default (in effect untruncated at
std 0.02), +-std where an official model overrides them.

Two samplers of that distribution are in use: mmengine's (timm's inverse-CDF
algorithm; Swin V1, SimMIM's ViT and the mask token) and PyTorch's
``nn.init.trunc_normal_`` (Swin V2).  They draw different tensors from one
seed, so the sampler is a parameter and every model keeps its own: a seeded
run initialises exactly as before.
"""
from typing import Callable, Tuple, Type

import torch
from mmengine.model.weight_init import trunc_normal_
from torch import nn

#: ``sampler(tensor, mean, std, a, b)``, in place
Sampler = Callable[..., torch.Tensor]

#: the official std of every truncated-normal init
STD = .02
#: timm's default truncation: +-2, absolute
DEFAULT_BOUND = 2.0


def official_trunc_normal_(tensor: torch.Tensor,
                           bound: float = DEFAULT_BOUND,
                           sampler: Sampler = trunc_normal_) -> torch.Tensor:
    """``trunc_normal(std=0.02)`` cut at ``+-bound`` (in place)."""
    return sampler(tensor, std=STD, a=-bound, b=bound)


def init_official_weights(
        module: nn.Module,
        weight_types: Tuple[Type[nn.Module], ...] = (nn.Linear, ),
        bound: float = DEFAULT_BOUND,
        sampler: Sampler = trunc_normal_) -> None:
    """Official ``_init_weights`` over ``module.modules()``, in their order.

    Weights of ``weight_types`` (Swin: Linear; ViT: Linear and Conv2d)
    ``trunc_normal(0.02)`` cut at ``+-bound`` by ``sampler``, their biases
    zero; LayerNorm weight 1, bias 0.
    """
    for m in module.modules():
        if isinstance(m, weight_types):
            official_trunc_normal_(m.weight, bound, sampler)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
