"""Cross-entropy of the official DNL segmentation recipes (OHEM and DSN).

The official code (yinmh17/DNL-Semantic-Segmentation, ``model/seg/loss/``)
trains the main head with ``OhemCELoss`` and the "DSN" auxiliary head with a
plain ``nn.CrossEntropyLoss``, both with the per-class weights of the
released configs (``ce_weight``/``ohem_ce_loss.weight``; Cityscapes only).
The two reduce differently:

* ``OhemCELoss`` takes ``F.cross_entropy(weight=w, reduction='none')``, keeps
  the pixels whose true-class probability is below
  ``max(thresh, p_sorted[min(min_kept * N, n_valid - 1)])`` (mmseg's
  ``OHEMPixelSampler`` selects exactly these) and returns their plain
  ``.mean()``: ``sum_kept w_{y_i} l_i / N_kept`` (``mean='kept_pixels'``).
* ``nn.CrossEntropyLoss(weight=w)`` returns PyTorch's weighted mean over the
  non-ignored pixels: ``sum_i w_{y_i} l_i / sum_i w_{y_i}``
  (``mean='class_weight'``).

mmseg 1.2.2's ``CrossEntropyLoss`` computes neither: under OHEM pixel
weights it divides by all ``N*H*W`` pixels (kept or not, ignored included),
and with ``class_weight`` it looks the weight up for every label, the ignore
index included, and raises ``IndexError: index 255 is out of bounds``
(open-mmlab/mmsegmentation#3734).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from visrep.registry import MODELS

#: ``mean`` of :class:`ClassWeightedCrossEntropyLoss` -> what it divides by
MEANS = {
    'kept_pixels': 'the number of kept, non-ignored pixels (official '
                   'OhemCELoss)',
    'class_weight': 'the sum of the class weights of the kept, non-ignored '
                    'pixels (PyTorch nn.CrossEntropyLoss(weight=...))',
}


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy with class weights and the official reductions.

    A drop-in ``loss_decode`` of mmseg heads: ``weight`` (pixel weights from
    a sampler, e.g. OHEM's 0/1 mask) restricts the loss to the kept pixels;
    ``reduction_override='none'`` returns the weighted per-pixel losses
    ``w_{y_i} l_i`` (0 on ignored pixels).

    Args:
        class_weight: one weight per class (``None``: all 1).
        mean: ``'kept_pixels'`` divides ``sum w_{y_i} l_i`` by the number of
            kept pixels, as the official ``OhemCELoss`` (the main head of
            the official configs); ``'class_weight'`` divides by the sum of
            their class weights, PyTorch's weighted mean, as the official
            ``nn.CrossEntropyLoss`` of the DSN auxiliary head.  Without
            class weights the two are equal.
        loss_weight: multiplies the loss.
        loss_name: the key in the loss dict (mmseg sums keys with ``loss``).
    """

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 mean: str = 'class_weight',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce'):
        super().__init__()
        if mean not in MEANS:
            raise ValueError(
                f'ClassWeightedCrossEntropyLoss: mean={mean!r} is not one of '
                f'{sorted(MEANS)}; use \'kept_pixels\' (official OHEM loss) '
                'or \'class_weight\' (PyTorch\'s weighted mean).')
        self.class_weight = None if class_weight is None else \
            list(map(float, class_weight))
        self.mean = mean
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def _class_weight(self, cls_score: torch.Tensor
                      ) -> Optional[torch.Tensor]:
        if self.class_weight is None:
            return None
        if len(self.class_weight) != cls_score.shape[1]:
            raise ValueError(
                f'ClassWeightedCrossEntropyLoss: {len(self.class_weight)}'
                f' class weights for {cls_score.shape[1]} classes; give '
                'one weight per class.')
        return cls_score.new_tensor(self.class_weight)

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                ignore_index: int = 255,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        class_weight = self._class_weight(cls_score)
        # w_{y_i} * l_i, and 0 where the label is ignored
        losses = F.cross_entropy(cls_score, label, weight=class_weight,
                                 reduction='none', ignore_index=ignore_index)
        if reduction_override == 'none':
            return self.loss_weight * losses
        norm = (label != ignore_index).to(losses.dtype)
        if class_weight is not None and self.mean == 'class_weight':
            norm = norm * class_weight[label.clamp(0, len(class_weight) - 1)]
        if weight is not None:
            losses = losses * weight
            norm = norm * weight
        # no pixel kept: 0 (the official OhemCELoss returns the empty sum)
        return self.loss_weight * losses.sum() / norm.sum().clamp_min(1e-12)
