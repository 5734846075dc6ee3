"""Class-weighted cross-entropy for the official Cityscapes recipe.

The official code trains Cityscapes with per-class weights in PyTorch's
``nn.CrossEntropyLoss(weight=w, ignore_index=...)`` (the ``ce_loss`` /
``ohem_ce_loss`` params of the released configs), whose mean is
``sum_i w_{y_i} l_i / sum_i w_{y_i}`` over non-ignored pixels.  mmseg
1.2.2's ``CrossEntropyLoss(class_weight=...)`` cannot run this: it looks the
weight up for every label, the ignore index included, and raises
``IndexError: index 255 is out of bounds`` (open-mmlab/mmsegmentation#3734).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from visrep.registry import MODELS


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy, PyTorch's class-weighted mean.

    A drop-in ``loss_decode`` of mmseg heads: ``weight`` (pixel weights from
    a sampler, e.g. OHEM's 0/1 mask) restricts the mean to the kept pixels;
    ``reduction_override='none'`` returns the weighted per-pixel losses.

    Args:
        class_weight: one weight per class (``None``: all 1).
        loss_weight: multiplies the loss.
        loss_name: the key in the loss dict (mmseg sums keys with ``loss``).
    """

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce'):
        super().__init__()
        self.class_weight = None if class_weight is None else \
            list(map(float, class_weight))
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                ignore_index: int = 255,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        class_weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != cls_score.shape[1]:
                raise ValueError(
                    f'ClassWeightedCrossEntropyLoss: {len(self.class_weight)}'
                    f' class weights for {cls_score.shape[1]} classes; give '
                    'one weight per class.')
            class_weight = cls_score.new_tensor(self.class_weight)
        # w_{y_i} * l_i, and 0 where the label is ignored
        losses = F.cross_entropy(cls_score, label, weight=class_weight,
                                 reduction='none', ignore_index=ignore_index)
        if reduction_override == 'none':
            return self.loss_weight * losses
        valid = label != ignore_index
        norm = valid.to(losses.dtype)
        if class_weight is not None:
            norm = norm * class_weight[label.clamp(0, len(class_weight) - 1)]
        if weight is not None:
            losses = losses * weight
            norm = norm * weight
        return self.loss_weight * losses.sum() / norm.sum().clamp_min(1e-12)
