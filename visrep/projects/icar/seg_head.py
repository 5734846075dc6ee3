"""Per-pixel cosine classification heads for mmseg (open-vocabulary).

As the iCAR author's ADE20K "lanhead": a decode head's per-pixel features
are projected without bias (1x1 conv) to the joint space and every pixel
is scored with cosine logits (temperature 0.05) against class weights the
text encoder generates from the class names.  ``visrep.ICARFCNHead`` and
``visrep.ICARUPerHead`` are mmseg's FCN and UPerNet heads with this
classifier in place of ``conv_seg``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmseg.models.decode_heads import FCNHead, UPerHead
from torch import nn

from visrep.registry import MODELS
from .text_classifier import build_head_classifier


class TextSegMixin:
    """Replaces ``conv_seg`` with a projection + text cosine classifier."""

    def _attach_text_classifier(self, classifier, embed_dim: int) -> None:
        if classifier.text_encoder.embed_dim != embed_dim:
            raise ValueError(f'embed_dim={embed_dim} differs from the text '
                             'encoder\'s embed_dim='
                             f'{classifier.text_encoder.embed_dim}.')
        del self.conv_seg
        self.visual_proj = nn.Conv2d(self.channels, embed_dim, 1, bias=False)
        self.text_classifier = classifier

    def cls_seg(self, feat: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, classes, H, W)`` cosine logits."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        emb = F.normalize(self.visual_proj(feat), dim=1)
        weights = self.text_classifier.weights()
        scale = self.text_classifier.logit_scale()
        return scale * torch.einsum('bdhw,nd->bnhw', emb, weights)


def _head_kwargs(kwargs: dict) -> dict:
    kwargs.setdefault('init_cfg', dict(type='Normal', std=0.01,
                                       override=dict(name='visual_proj')))
    return kwargs


@MODELS.register_module(name='ICARFCNHead')
class TextFCNHead(TextSegMixin, FCNHead):
    """``type='visrep.ICARFCNHead'``: ``FCNHead`` + text cosine classifier.

    Args:
        text_classifier: ``TextCosineClassifier`` arguments (text encoder,
            ``class_text``; ``classes=None`` takes the dataset's names via
            ``visrep.ICARClassNamesHook``, then give ``num_classes``).
        embed_dim: joint space.
        num_classes: only when the names come from the dataset.
        **kwargs: ``FCNHead`` arguments.
    """

    def __init__(self, text_classifier: dict, embed_dim: int = 256,
                 num_classes: Optional[int] = None, **kwargs):
        classifier, num_classes = build_head_classifier(
            text_classifier, num_classes, 'ICARFCNHead')
        super().__init__(num_classes=num_classes, **_head_kwargs(kwargs))
        self._attach_text_classifier(classifier, embed_dim)


@MODELS.register_module(name='ICARUPerHead')
class TextUPerHead(TextSegMixin, UPerHead):
    """``type='visrep.ICARUPerHead'``: ``UPerHead`` + text cosine classifier
    (arguments as ``visrep.ICARFCNHead``)."""

    def __init__(self, text_classifier: dict, embed_dim: int = 256,
                 num_classes: Optional[int] = None, **kwargs):
        classifier, num_classes = build_head_classifier(
            text_classifier, num_classes, 'ICARUPerHead')
        super().__init__(num_classes=num_classes, **_head_kwargs(kwargs))
        self._attach_text_classifier(classifier, embed_dim)
