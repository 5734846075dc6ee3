"""Open-vocabulary video classification head for mmaction2.

As the iCAR author's Kinetics "language head": the backbone's feature map
is average-pooled, projected without bias to the joint space and scored
with cosine logits (fixed temperature 0.05) against class weights the text
encoder generates from the action names (video templates: one sampled per
class per step in training, the ensemble at test).  Evaluating on another
class list (``test_class_text``) is zero-shot recognition of unseen
actions.
"""
from typing import Optional

import torch
from mmaction.models.heads.base import BaseHead
from torch import nn

from visrep.registry import MODELS
from .text_classifier import build_head_classifier


@MODELS.register_module(name='ICARVideoHead')
class VideoTextHead(BaseHead):
    """``type='visrep.ICARVideoHead'`` (mmaction2 ``cls_head``).

    Args:
        in_channels: backbone channels.
        text_classifier: ``visrep`` ``TextCosineClassifier`` arguments:
            ``text_encoder``, ``class_text`` (``classes`` of the training
            set, ``templates='video'``), ``test_class_text``,
            ``temperature``, ... Load a trained text encoder with its
            ``init_cfg=dict(type='Pretrained', checkpoint=...,
            prefix='text_classifier.text_encoder.')``.
        embed_dim: joint space; equals the text encoder's.
        num_classes: only when the class names come from the dataset.
        spatial_type: ``'avg'`` pooling over (T, H, W) or ``None``.
        dropout_ratio: dropout before the projection.
        init_std: std of the projection's normal init.
    """

    def __init__(self,
                 in_channels: int,
                 text_classifier: dict,
                 embed_dim: int = 256,
                 num_classes: Optional[int] = None,
                 spatial_type: Optional[str] = 'avg',
                 dropout_ratio: float = 0.0,
                 init_std: float = 0.02,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),
                 **kwargs):
        classifier, num_classes = build_head_classifier(
            text_classifier, num_classes, 'ICARVideoHead')
        super().__init__(num_classes=num_classes, in_channels=in_channels,
                         loss_cls=loss_cls, **kwargs)
        self.text_classifier = classifier
        if classifier.text_encoder.embed_dim != embed_dim:
            raise ValueError(f'embed_dim={embed_dim} differs from the text '
                             'encoder\'s embed_dim='
                             f'{classifier.text_encoder.embed_dim}.')
        if spatial_type not in ('avg', None):
            raise ValueError(f"spatial_type={spatial_type!r}: 'avg' or None")
        self.pool = nn.AdaptiveAvgPool3d(1) if spatial_type == 'avg' else None
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio else None
        self.visual_proj = nn.Linear(in_channels, embed_dim, bias=False)
        nn.init.normal_(self.visual_proj.weight, std=init_std)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """``(N, C, T, H, W)`` (or pooled ``(N, C)``) -> ``(N, classes)``."""
        if self.pool is not None and x.dim() == 5:
            x = self.pool(x)
        x = x.flatten(1)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.text_classifier(self.visual_proj(x))
