"""MoBY (Xie et al., arXiv 2105.04553) as an OpenMMLab plugin.

Registers, in the ``visrep`` scope: ``MoBY`` (the algorithm: separately
built target encoder, cosine momentum, two queues, symmetric loss, keys
gathered across processes, official checkpoints), ``MoBYMLP``
(projector/predictor) and ``MoBYHead``.  Its heads' default norm
``visrep.GlobalBatchNorm1d`` (SyncBN that also runs on CPU/gloo) and
``visrep.RNGStateHook`` (bit-exact ``--resume``) are core pieces of
:mod:`visrep.engine`; the Swin V1 backbone with official checkpoint reading,
``visrep.SwinTransformerV1``, is the core's (:mod:`visrep.models`).  See
README.md.
"""
from visrep.extras import import_available

from .checkpoint import (convert_official_moby, is_official_moby,
                         moby_from_official)
from .heads import MoBYHead, MoBYMLP, contrastive_loss

# the algorithm is an mmpretrain self-supervisor
__getattr__ = import_available(globals(), __name__, {
    '.moby': ('cls', ['MoBY', 'cosine_momentum']),
})

__all__ = ['MoBY', 'MoBYHead', 'MoBYMLP', 'contrastive_loss',
           'convert_official_moby', 'cosine_momentum', 'is_official_moby',
           'moby_from_official']
