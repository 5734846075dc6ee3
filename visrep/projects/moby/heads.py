"""MoBY's projector / predictor MLP and its contrastive head."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from visrep.registry import MODELS


@MODELS.register_module()
class MoBYMLP(BaseModule):
    """Official ``MoBYMLP`` (``type='visrep.MoBYMLP'``), same parameter names.

    ``linear_hidden = [Identity, (Linear, BN, ReLU) x (num_layers - 1)]``
    then ``linear_out = Linear(inner, out)``; projector ``in -> 4096 -> 256``,
    predictor ``256 -> 4096 -> 256``.  The BN is SyncBN officially; the
    default :class:`~visrep.engine.GlobalBatchNorm1d` is SyncBN on every
    backend.
    Layers keep PyTorch's default init, as officially.
    """

    def __init__(self, in_channels: int = 256, hid_channels: int = 4096,
                 out_channels: int = 256, num_layers: int = 2,
                 norm_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers={num_layers}: MoBYMLP needs >= 1.')
        norm_cfg = norm_cfg or dict(type='visrep.GlobalBatchNorm1d')
        hidden = [nn.Identity()]
        for i in range(num_layers - 1):
            hidden.append(nn.Linear(in_channels if i == 0 else hid_channels,
                                    hid_channels))
            hidden.append(build_norm_layer(norm_cfg, hid_channels)[1])
            hidden.append(nn.ReLU(inplace=True))
        self.linear_hidden = nn.Sequential(*hidden)
        self.linear_out = nn.Linear(
            in_channels if num_layers == 1 else hid_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_out(self.linear_hidden(x))


def contrastive_loss(query: torch.Tensor, key: torch.Tensor,
                     queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """MoCo cross-entropy: ``-log softmax([q.k, q.queue] / T)[0]``, batch mean.

    ``query``/``key`` ``(N, C)`` L2-normalised, ``queue`` ``(C, K)`` (no
    gradient flows into it)."""
    positive = (query * key).sum(dim=1, keepdim=True)
    negative = query @ queue.clone().detach()
    logits = torch.cat([positive, negative], dim=1) / temperature
    labels = torch.zeros(logits.shape[0], dtype=torch.long,
                         device=logits.device)
    return F.cross_entropy(logits, labels)


@MODELS.register_module()
class MoBYHead(BaseModule):
    """Predictor + contrastive loss of MoBY (``type='visrep.MoBYHead'``).

    Args:
        predictor: the online predictor (``visrep.MoBYMLP``,
            256 -> 4096 -> 256).
        temperature: softmax temperature (official 0.2).
    """

    def __init__(self, predictor: dict, temperature: float = 0.2,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
        self.predictor = MMPRETRAIN_MODELS.build(predictor)
        self.temperature = temperature

    def predict(self, projection: torch.Tensor) -> torch.Tensor:
        """L2-normalised prediction of the online projection."""
        return F.normalize(self.predictor(projection), dim=1)

    def loss(self, query: torch.Tensor, key: torch.Tensor,
             queue: torch.Tensor) -> torch.Tensor:
        return contrastive_loss(query, key, queue, self.temperature)
