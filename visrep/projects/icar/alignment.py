"""The shared formula of classification and image-text alignment.

Cosine logits ``s * normalize(v) @ normalize(w)^T`` with ``s = 1 / tau``:
in classification ``w`` are the class embeddings the text encoder generates,
in image-text alignment the caption embeddings.  iCAR's released heads keep
``s`` fixed at 1 / 0.05 (``logit_scale = log(1/0.05)``, ``requires_grad=
False``, clamped at log 100); CLIP learns it.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from visrep.engine import all_gather_with_grad

#: CLIP's clamp of the learned scale (exp <= 100)
MAX_LOG_SCALE = math.log(100)


class LogitScale(nn.Module):
    """``exp(logit_scale)`` with ``logit_scale = log(1 / temperature)``.

    Args:
        temperature: initial (and, if fixed, constant) temperature.
        learnable: learn it (CLIP) instead of keeping it fixed (iCAR).
    """

    def __init__(self, temperature: float = 0.05, learnable: bool = False):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature={temperature}: must be > 0.')
        self.logit_scale = nn.Parameter(
            torch.tensor(math.log(1 / temperature)), requires_grad=learnable)

    def forward(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=MAX_LOG_SCALE).exp()

    def extra_repr(self) -> str:
        return (f'temperature={math.exp(-self.logit_scale.item()):.4g}, '
                f'learnable={self.logit_scale.requires_grad}')


def cosine_logits(features: torch.Tensor, weights: torch.Tensor,
                  scale: torch.Tensor) -> torch.Tensor:
    """``scale * normalize(features) @ normalize(weights)^T``."""
    return scale * F.normalize(features, dim=-1) @ F.normalize(
        weights, dim=-1).t()


def image_text_contrastive_loss(image: torch.Tensor, text: torch.Tensor,
                                scale: torch.Tensor) -> Optional[torch.Tensor]:
    """CLIP's symmetric InfoNCE over matched ``(image[i], text[i])`` pairs.

    Under DDP every rank scores its own rows against the pairs of all ranks
    (gathered with gradient), so negatives come from the global batch; the
    loss is this rank's mean, which DDP averages.  ``None`` when no rank has
    a pair; a zero that keeps the graph when only this rank has none.
    """
    image, text = F.normalize(image, dim=-1), F.normalize(text, dim=-1)
    all_image, offset = all_gather_with_grad(image)
    all_text, _ = all_gather_with_grad(text)
    if len(all_image) == 0:
        return None
    if len(image) == 0:
        return (all_image.sum() + all_text.sum()) * 0
    targets = torch.arange(len(image), device=image.device) + offset
    loss_i2t = F.cross_entropy(scale * image @ all_text.t(), targets)
    loss_t2i = F.cross_entropy(scale * text @ all_image.t(), targets)
    return (loss_i2t + loss_t2i) / 2
