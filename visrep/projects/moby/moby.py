"""MoBY (Xie et al., 2021): MoCo v2 + BYOL with Swin / ViT backbones."""
import copy
import math
from typing import Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmengine.logging import MessageHub, print_log
from mmpretrain.models.selfsup import BaseSelfSupervisor
from torch import nn

from visrep.checkpoint import ADAPTER, CheckpointMismatchError, unwrap
from visrep.registry import MODELS
from .checkpoint import is_official_moby, moby_from_official


def cosine_momentum(base: float, step: int, total: int) -> float:
    """``1 - (1 - base) * (cos(pi * step / total) + 1) / 2``: ``base`` at
    step 0, 1 at ``total`` (official ``_momentum_update_key_encoder``)."""
    return 1. - (1. - base) * (math.cos(math.pi * step / total) + 1) / 2.


@MODELS.register_module()
class MoBY(BaseSelfSupervisor):
    """MoBY pre-training (``type='visrep.MoBY'``), official behaviour.

    * online ``backbone`` -> ``neck`` (projector) -> ``head.predictor``;
      a **separately built** target backbone (the same config with
      ``drop_path_rate=target_drop_path_rate``, official 0.0 vs 0.2 online)
      and target projector, copied from the online weights at init and
      never trained by gradients;
    * once per iteration, **before** the keys are computed, the target
      parameters move to ``m * target + (1 - m) * online`` with
      ``m = 1 - (1 - 0.99) * (cos(pi * k / K) + 1) / 2`` over ``K`` total
      iterations (the runner's ``max_iters`` unless ``momentum_total_iters``
      is given); the step ``k`` is a buffer (saved, restored on resume);
    * symmetric loss ``CE(q1, k2, queue2) + CE(q2, k1, queue1)``
      (:func:`.heads.contrastive_loss`, T = 0.2, no 1/2 factor) with two
      queues of ``queue_len`` L2-normalised keys, initialised
      ``normalize(randn(feat_dim, queue_len), dim=0)``;
    * keys are all-gathered across processes before they enter the queues
      (a queue length that is not a multiple of the global batch is an
      error, as officially); one process works too.

    Backbone features are average-pooled when they are maps (Swin: the
    official ``avgpool`` after the final norm) and used as they are when
    vectors (ViT ``cls_token``).

    Args:
        backbone: online encoder config (e.g. ``visrep.SwinTransformerV1``
            with ``drop_path_rate=0.2``).
        neck: projector config (``visrep.MoBYMLP``, in -> 4096 -> 256).
        head: ``visrep.MoBYHead`` (predictor, temperature).
        target_drop_path_rate: drop path of the target encoder.
        base_momentum: momentum at step 0 (official 0.99).
        momentum_total_iters: ``K``; ``None`` reads the runner's max_iters.
        queue_len: keys per queue (official 4096).
        feat_dim: key size (projector output, official 256).
    """

    def __init__(self, backbone: dict, neck: dict, head: dict,
                 target_drop_path_rate: float = 0.0,
                 base_momentum: float = 0.99,
                 momentum_total_iters: Optional[int] = None,
                 queue_len: int = 4096, feat_dim: int = 256,
                 pretrained: Optional[str] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, head=head,
                         pretrained=pretrained,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
        target = copy.deepcopy(backbone)
        target['drop_path_rate'] = target_drop_path_rate
        target.pop('init_cfg', None)  # copied from the online encoder
        self.target_backbone = MMPRETRAIN_MODELS.build(target)
        self.target_neck = MMPRETRAIN_MODELS.build(copy.deepcopy(neck))
        for module in (self.target_backbone, self.target_neck):
            module.requires_grad_(False)
        list(self._pairs())  # the online and target modules must match
        self.base_momentum = base_momentum
        self.momentum_total_iters = momentum_total_iters
        self.queue_len = queue_len
        self.register_buffer('queue1', F.normalize(
            torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue2', F.normalize(
            torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
        self.register_buffer('momentum_step',
                             torch.zeros(1, dtype=torch.long))

    # ------------------------------------------------------------ target
    def _pairs(self) -> Iterator[Tuple[nn.Parameter, nn.Parameter]]:
        """(online, target) parameters of the encoder and the projector."""
        for online, target in ((self.backbone, self.target_backbone),
                               (self.neck, self.target_neck)):
            a, b = dict(online.named_parameters()), \
                dict(target.named_parameters())
            if a.keys() != b.keys():
                raise ValueError(
                    'MoBY: online and target modules differ: '
                    f'{sorted(set(a) ^ set(b))[:5]}')
            for name in a:
                yield a[name], b[name]

    def init_weights(self) -> None:
        """Initialise the online modules, then copy them into the targets."""
        super().init_weights()
        with torch.no_grad():
            for online, target in self._pairs():
                target.copy_(online)

    def total_steps(self) -> int:
        if self.momentum_total_iters:
            return int(self.momentum_total_iters)
        total = MessageHub.get_current_instance().get_info('max_iters')
        if not total:
            raise RuntimeError(
                'MoBY: the cosine momentum needs the total number of '
                'iterations; train with an mmengine Runner (its '
                'RuntimeInfoHook publishes max_iters) or set '
                'model.momentum_total_iters.')
        return int(total)

    @torch.no_grad()
    def momentum_update(self) -> float:
        """One EMA step of the target encoder and projector; returns ``m``."""
        step = int(self.momentum_step)
        momentum = cosine_momentum(self.base_momentum, step,
                                   self.total_steps())
        self.momentum_step += 1
        for online, target in self._pairs():
            target.mul_(momentum).add_(online * (1. - momentum))
        return momentum

    # ------------------------------------------------------------ queues
    @torch.no_grad()
    def _dequeue_and_enqueue(self, keys1: torch.Tensor,
                             keys2: torch.Tensor) -> None:
        keys1 = torch.cat(all_gather(keys1.contiguous()), dim=0)
        keys2 = torch.cat(all_gather(keys2.contiguous()), dim=0)
        batch = keys1.shape[0]
        if self.queue_len % batch:
            raise ValueError(
                f'MoBY: queue_len={self.queue_len} is not a multiple of the '
                f'global batch {batch} (the official code asserts it); '
                'change train_dataloader.batch_size or model.queue_len, and '
                'set train_dataloader.drop_last=True.')
        ptr = int(self.queue_ptr)
        self.queue1[:, ptr:ptr + batch] = keys1.T
        self.queue2[:, ptr:ptr + batch] = keys2.T
        self.queue_ptr[0] = (ptr + batch) % self.queue_len

    # ------------------------------------------------------------ forward
    @staticmethod
    def _embed(backbone: nn.Module, projector: nn.Module,
               images: torch.Tensor) -> torch.Tensor:
        feature = backbone(images)[-1]
        if feature.dim() == 4:  # (B, C, H, W) -> official avgpool
            feature = feature.mean(dim=(2, 3))
        return projector(feature)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        return self.backbone(inputs)

    def loss(self, inputs: List[torch.Tensor], data_samples,
             **kwargs) -> Dict[str, torch.Tensor]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                'MoBY needs two views per image: use the MultiView '
                'transform with num_views=[1, 1] in the train pipeline.')
        view1, view2 = inputs
        query1 = self.head.predict(self._embed(self.backbone, self.neck,
                                               view1))
        query2 = self.head.predict(self._embed(self.backbone, self.neck,
                                               view2))
        with torch.no_grad():
            momentum = self.momentum_update()
            key1 = F.normalize(self._embed(self.target_backbone,
                                           self.target_neck, view1), dim=1)
            key2 = F.normalize(self._embed(self.target_backbone,
                                           self.target_neck, view2), dim=1)
        loss = self.head.loss(query1, key2, self.queue2) + \
            self.head.loss(query2, key1, self.queue1)
        self._dequeue_and_enqueue(key1, key2)
        return dict(loss=loss,
                    ema_momentum=torch.tensor(momentum, dtype=loss.dtype))

    # ------------------------------------------------------------ ckpt
    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        """Read official MoBY checkpoints (``encoder.``, ``encoder_k.``,
        ``projector[_k].``, ``predictor.``, queues) in ``load_from``; a file
        without ``momentum_step`` (official ones never store it) keeps the
        model's step."""
        inner = unwrap(state_dict)
        if prefix:
            return state_dict
        if is_official_moby(inner):
            parts = moby_from_official(inner)
            out: Dict[str, torch.Tensor] = {}
            for name in ('backbone', 'target_backbone'):
                module = getattr(self, name)
                adapter = getattr(module, ADAPTER, None)
                if adapter is None:
                    raise CheckpointMismatchError(
                        f'{type(module).__name__} cannot read official Swin '
                        'encoders: use visrep.SwinTransformerV1.')
                out.update(adapter(parts.pop(name), f'{name}.', model))
            out.update(parts['heads'])
            inner = state_dict = out
        if 'queue1' in inner and 'momentum_step' not in inner:
            state_dict = dict(inner, momentum_step=self.momentum_step.clone())
            print_log('MoBY: no momentum_step in the checkpoint (official '
                      'files recompute it from the epoch); the model keeps '
                      f'step {int(self.momentum_step)}', logger='current')
        return state_dict
