"""iCAR: image classification as image-text alignment (Wei et al., 2022).

One image encoder (backbone, pooling, bias-free projection to the joint
space) and one text encoder serve two tasks with the same formula:

* classification: cosine logits of the image embedding against class
  weights the text encoder generates from ``"name: description"`` prompts
  (``visrep.TextCosineClassifier``), cross-entropy over the labelled
  classes;
* image-text alignment: CLIP's symmetric contrastive loss between image
  and caption embeddings.

``L = L_cls + itc_weight * L_itc`` (``itc_weight`` 1 by default, OUR
CHOICE: no released source fixes the weighting; see README).  A batch
mixes both sources: labelled samples carry ``gt_label >= 0``, caption
samples a ``caption`` field (``gt_label = -1``), e.g. from
``visrep.ImageCaptionDataset`` concatenated with a classification dataset
and mmdet's ``MultiSourceSampler``.

``classifier='linear'`` is the shallow-fusion baseline: a separate linear
head for the labelled classes, the text encoder trained only by the
contrastive loss (and used for zero-shot evaluation with
``test_classifier='text'``); it is also the linear probe of the few-shot
protocol (``frozen=...``, ``linear.input='embedding'`` with class-prototype
initialisation by ``visrep.ICARPrototypeInitHook``).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmpretrain.structures import DataSample
from torch import nn

from visrep.registry import MODELS
from .alignment import LogitScale, image_text_contrastive_loss
from .text_classifier import TextCosineClassifier

CLASSIFIERS = ('text', 'linear')
LINEAR_INPUTS = ('backbone', 'embedding')
FREEZABLE = ('backbone', 'neck', 'visual_proj', 'text_encoder')


def _build(cfg: dict) -> nn.Module:
    """Build a part from mmpretrain's registry in the mmpretrain scope, so
    that ``ClsDataPreprocessor``, ``CrossEntropyLoss`` ... are mmpretrain's
    whatever scope is current (e.g. a model built from an mmaction config)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return PRETRAIN_MODELS.build(cfg)


@MODELS.register_module()
class ICAR(BaseClassifier):
    """``type='visrep.ICAR'`` (mmpretrain).

    Args:
        backbone: image backbone, e.g. ``visrep.SwinTransformerV2`` or
            ``mmpretrain.SwinTransformer`` (iCAR's released model: Swin V1).
        text_encoder: ``visrep.ICARTextTransformer`` (default, trained here)
            or ``visrep.ICARHFTextEncoder`` (a local RoBERTa).
        image_channels: channels of the pooled backbone feature.
        embed_dim: joint space (256 in iCAR); must equal the text
            encoder's ``embed_dim``.
        neck: pooling (``GlobalAveragePooling``).
        class_text, test_class_text, temperature, learnable_temperature,
        shard_classes, template_seed: see ``TextCosineClassifier``.
        classifier: ``'text'`` (iCAR deep fusion) or ``'linear'`` (shallow
            fusion / linear probe).
        test_classifier: head used by ``predict`` (default: ``classifier``);
            ``'text'`` with ``classifier='linear'`` gives zero-shot results.
        linear: ``num_classes``, ``input`` (``'backbone'`` pooled feature,
            or ``'embedding'``: ``s * normalize(image embedding)``, so
            weights set to the text prototypes reproduce zero-shot) and
            ``bias``.
        itc_weight: lambda of the contrastive loss (0: classification only).
        itc_temperature: its temperature; ``None`` shares the classifier's
            scale (OUR CHOICE: "the same formula and the same weights").
        cls_loss: mmpretrain loss on the logits of labelled samples.
        frozen: parts kept fixed and in eval mode (linear probe):
            ``'backbone'``, ``'neck'``, ``'visual_proj'``, ``'text_encoder'``.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 image_channels: int,
                 embed_dim: int = 256,
                 neck: Optional[dict] = dict(type='GlobalAveragePooling'),
                 class_text: Optional[dict] = None,
                 test_class_text: Optional[dict] = None,
                 temperature: float = 0.05,
                 learnable_temperature: bool = False,
                 shard_classes: bool = True,
                 template_seed: int = 0,
                 classifier: str = 'text',
                 test_classifier: Optional[str] = None,
                 linear: Optional[dict] = None,
                 itc_weight: float = 1.0,
                 itc_temperature: Optional[float] = None,
                 cls_loss: dict = dict(type='CrossEntropyLoss'),
                 frozen: Sequence[str] = (),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = _build(data_preprocessor)
        super().__init__(init_cfg=init_cfg,
                         data_preprocessor=data_preprocessor)
        test_classifier = test_classifier or classifier
        for name, value in (('classifier', classifier),
                            ('test_classifier', test_classifier)):
            if value not in CLASSIFIERS:
                raise ValueError(f'{name}={value!r}: choose from '
                                 f'{CLASSIFIERS}.')
        unknown = sorted(set(frozen) - set(FREEZABLE))
        if unknown:
            raise ValueError(f'frozen={tuple(frozen)}: unknown {unknown}; '
                             f'choose from {FREEZABLE}.')
        self.backbone = _build(backbone)
        self.neck = _build(neck) if neck else None
        self.visual_proj = nn.Linear(image_channels, embed_dim, bias=False)
        self.text_classifier = TextCosineClassifier(
            text_encoder, class_text, test_class_text, temperature,
            learnable_temperature, shard_classes, template_seed)
        if self.text_encoder.embed_dim != embed_dim:
            raise ValueError(
                f'text_encoder.embed_dim={self.text_encoder.embed_dim} '
                f'differs from embed_dim={embed_dim}: both towers project '
                'to the same joint space.')
        self.classifier = classifier
        self.test_classifier = test_classifier
        self.linear_input = None
        if classifier == 'linear' or test_classifier == 'linear':
            self.linear_head, self.linear_input = self._build_linear(
                linear or {}, image_channels, embed_dim)
        self.itc_weight = itc_weight
        self.itc_logit_scale = None if itc_temperature is None else \
            LogitScale(itc_temperature, learnable_temperature)
        self.cls_loss = _build(cls_loss)
        self.frozen = tuple(frozen)
        for part in self.frozen:
            module = self._part(part)
            if module is not None:
                module.requires_grad_(False)

    @staticmethod
    def _build_linear(cfg: dict, image_channels: int, embed_dim: int):
        cfg = dict(cfg)
        num_classes = cfg.pop('num_classes', None)
        input_ = cfg.pop('input', 'backbone')
        bias = cfg.pop('bias', True)
        if cfg:
            raise TypeError(f'linear: unknown keys {sorted(cfg)}; expected '
                            'num_classes, input, bias.')
        if not num_classes:
            raise ValueError('classifier=\'linear\' needs linear.num_classes '
                             '(the number of labelled classes).')
        if input_ not in LINEAR_INPUTS:
            raise ValueError(f'linear.input={input_!r}: choose from '
                             f'{LINEAR_INPUTS}.')
        in_dim = image_channels if input_ == 'backbone' else embed_dim
        return nn.Linear(in_dim, num_classes, bias=bias), input_

    @property
    def text_encoder(self) -> nn.Module:
        return self.text_classifier.text_encoder

    def _part(self, name: str) -> Optional[nn.Module]:
        return self.text_encoder if name == 'text_encoder' else getattr(
            self, name)

    def train(self, mode: bool = True):
        super().train(mode)
        for part in self.frozen:  # linear probe: frozen parts stay in eval
            module = self._part(part)
            if module is not None:
                module.eval()
        return self

    # ------------------------------------------------------------ features
    def extract_feat(self, inputs: torch.Tensor,
                     stage: str = 'neck') -> torch.Tensor:
        """Pooled backbone feature (``stage='neck'``) or the joint-space
        image embedding (``stage='embedding'``, not normalised)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and
                                    'backbone' not in self.frozen):
            x = self.backbone(inputs)
        if self.neck is not None:
            x = self.neck(x)
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if stage == 'neck':
            return x
        if stage == 'embedding':
            return self.visual_proj(x)
        raise ValueError(f"stage={stage!r}: 'neck' or 'embedding'.")

    def encode_text(self, texts: List[str]) -> torch.Tensor:
        return self.text_encoder(texts)

    def _linear_logits(self, feats: torch.Tensor,
                       embedding: torch.Tensor) -> torch.Tensor:
        if self.linear_input == 'backbone':
            return self.linear_head(feats)
        scale = self.text_classifier.logit_scale()
        return self.linear_head(scale * F.normalize(embedding, dim=-1))

    # ------------------------------------------------------------ losses
    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        feats = self.extract_feat(inputs)
        embedding = self.visual_proj(feats)
        labels = torch.cat([s.gt_label for s in data_samples]) if \
            data_samples and 'gt_label' in data_samples[0] else \
            torch.full((len(data_samples), ), -1, dtype=torch.long)
        labels = labels.to(inputs.device)
        labelled = labels >= 0
        losses = {}
        if self.classifier == 'text':
            logits = self.text_classifier(embedding[labelled])
        else:
            logits = self._linear_logits(feats[labelled], embedding[labelled])
        if labelled.any():
            losses['loss_cls'] = self.cls_loss(
                logits, labels[labelled], avg_factor=int(labelled.sum()))
        else:  # keep the graph identical on every rank for DDP
            losses['loss_cls'] = logits.sum() * 0
        if self.itc_weight:
            captions = [s.get('caption') for s in data_samples]
            rows = [i for i, c in enumerate(captions) if c is not None]
            loss_itc = self._itc_loss(embedding[rows],
                                      [captions[i] for i in rows])
            if loss_itc is not None:
                losses['loss_itc'] = self.itc_weight * loss_itc
        return losses

    def _itc_loss(self, image: torch.Tensor,
                  captions: List[str]) -> Optional[torch.Tensor]:
        text = self.text_encoder(captions)
        scale = (self.itc_logit_scale or self.text_classifier.logit_scale)()
        return image_text_contrastive_loss(image, text, scale)

    # ------------------------------------------------------------ predict
    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        feats = self.extract_feat(inputs)
        embedding = self.visual_proj(feats)
        if self.test_classifier == 'text':
            return self.text_classifier(embedding)
        return self._linear_logits(feats, embedding)

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        scores = F.softmax(self.logits(inputs), dim=1)
        labels = scores.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(len(scores))]
        for sample, score, label in zip(data_samples, scores, labels):
            sample.set_pred_score(score).set_pred_label(label)
        return data_samples

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'tensor':
            return self.logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')
