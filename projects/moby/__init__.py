"""MoBY (Xie et al., arXiv 2105.04553) as an OpenMMLab plugin.

Registers, in the ``visrep`` scope: ``MoBY`` (the algorithm: separately
built target encoder, cosine momentum, two queues, symmetric loss, keys
gathered across processes, official checkpoints), ``MoBYMLP``
(projector/predictor), ``MoBYHead``, ``GlobalBatchNorm1d`` (SyncBN that
also runs on CPU/gloo) and ``RNGStateHook`` (bit-exact ``--resume``).
The Swin V1 backbone with official checkpoint reading is SimMIM's
``visrep.SwinTransformerV1``.  See README.md.
"""
from .checkpoint import (convert_official_moby, is_official_moby,
                         moby_from_official)
from .heads import MoBYHead, MoBYMLP, contrastive_loss
from .hooks import RNGStateHook
from .moby import MoBY, cosine_momentum
from .sync_bn import GlobalBatchNorm1d

__all__ = ['GlobalBatchNorm1d', 'MoBY', 'MoBYHead', 'MoBYMLP',
           'RNGStateHook', 'contrastive_loss', 'convert_official_moby',
           'cosine_momentum', 'is_official_moby', 'moby_from_official']
