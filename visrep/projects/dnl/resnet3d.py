"""3-D DNL blocks where mmaction2's 3-D ResNets place ``NonLocal3d``.

mmaction2's ``BasicBlock3d``/``Bottleneck3d`` build mmcv's ``NonLocal3d``
(hard-coded) as ``non_local_block`` for the blocks flagged in the backbone's
``non_local`` tuples and apply it to the block output (after the residual
addition and the ReLU), which is where the non-local paper puts it.
:func:`replace_non_local` swaps each of those for a :class:`DNLBlock`
(``dim=3``); the registered backbones below do it when they are built, so a
stock I3D / SlowOnly config only changes the backbone ``type`` and adds
``dnl_cfg``::

    backbone=dict(type='visrep.ResNet3dSlowOnlyDNL',
                  non_local=((0, 0, 0), (1, 0, 1, 0),
                             (1, 0, 1, 0, 1, 0), (0, 0, 0)),
                  dnl_cfg=dict(downsample=True))

State-dict keys stay those of the stock backbone
(``layer2.0.non_local_block.conv_query.weight``, ...).  No mmaction file is
edited.
"""
from typing import Dict, Optional

from mmaction.models.backbones.resnet3d import ResNet3d
from mmaction.models.backbones.resnet3d_slowonly import ResNet3dSlowOnly
from mmcv.cnn.bricks.non_local import _NonLocalNd
from torch import nn

from visrep.registry import MODELS
from .block import DNLBlock, build_dnl_block


def replace_non_local(model: nn.Module, dnl_cfg: Optional[Dict] = None) -> int:
    """Replace every mmcv non-local block named ``non_local_block`` in
    ``model`` by a 3-D :class:`DNLBlock` of the same width; returns how many.

    Works on any built model that holds them under that name (mmaction2's
    ResNet3d family, TSM's ``NL3DWrapper``).
    """
    owners = [m for m in model.modules()
              if isinstance(getattr(m, 'non_local_block', None), _NonLocalNd)]
    for owner in owners:
        channels = owner.non_local_block.in_channels
        owner.non_local_block = build_dnl_block(channels, 3, dnl_cfg)
    return len(owners)


class _DNLInsteadOfNonLocal:
    """Builds the stock backbone, then swaps its non-local blocks."""

    def __init__(self, *args, dnl_cfg: Optional[Dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.dnl_cfg = dnl_cfg
        if replace_non_local(self, dnl_cfg) == 0:
            raise ValueError(
                f'{type(self).__name__}: no block is flagged in `non_local`; '
                'set non_local=(per-stage tuples of 0/1), e.g. '
                '((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)).')

    def init_weights(self, *args, **kwargs) -> None:
        """The stock init (Kaiming on every Conv3d, 2-D inflation), then the
        DNL blocks' own N(0, 0.01) init."""
        super().init_weights(*args, **kwargs)
        for module in self.modules():
            if isinstance(module, DNLBlock):
                module.reset_parameters()


@MODELS.register_module()
class ResNet3dDNL(_DNLInsteadOfNonLocal, ResNet3d):
    """mmaction2 ``ResNet3d`` (I3D) with 3-D DNL blocks at the ``non_local``
    positions.  Args: those of ``ResNet3d`` plus ``dnl_cfg``
    (:class:`DNLBlock` arguments)."""


@MODELS.register_module()
class ResNet3dSlowOnlyDNL(_DNLInsteadOfNonLocal, ResNet3dSlowOnly):
    """mmaction2 ``ResNet3dSlowOnly`` with 3-D DNL blocks at the
    ``non_local`` positions.  Args: those of ``ResNet3dSlowOnly`` plus
    ``dnl_cfg`` (:class:`DNLBlock` arguments)."""
