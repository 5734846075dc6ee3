"""The official DNL segmentation head, for mmseg.

Official ``NLModule_nowd`` (yinmh17/DNL-Semantic-Segmentation,
``model/seg/nets/nonlocalnowd.py``) on the last backbone stage ``x`` (C_in
channels)::

    conva:      3x3 conv C_in -> C_in/4, BN, ReLU
    ctb:        DNL block on C_in/4 channels (query/key C_in/8, value C_in/4)
    convb:      3x3 conv C_in/4 -> C_in/4, BN, ReLU
    bottleneck: concat(x, .) -> 3x3 conv -> 512, BN, ReLU, Dropout2d(0.1),
                1x1 conv -> classes

plus a "DSN" auxiliary FCN head on stage 3 (3x3 conv -> 512, BN, ReLU,
Dropout2d(0.1), 1x1 conv; loss weight 0.4), which is mmseg's stock
``FCNHead(num_convs=1, channels=512, concat_input=False)``.  Layer names
follow mmseg's ``DNLHead`` (``convs.0``, ``dnl_block``, ``convs.1``,
``conv_cat``, ``conv_seg``) so that the two heads differ only where the
behaviour does: the block (see :data:`MMSEG_DNL_BLOCK`) and, for C_in other
than 4 x ``channels``, the middle width.
"""
from typing import Dict, Optional

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import nn

from visrep.errors import ArgumentTypeError, ArgumentValueError
from visrep.registry import MODELS
from .block import DNLBlock

#: block switches that reproduce mmseg's ``DisentangledNonLocal2d`` as
#: ``DNLHead`` builds it (add ``out_norm_cfg=<the head's norm_cfg>``)
MMSEG_DNL_BLOCK = dict(whiten='channel', use_scale=True, temperature=0.05,
                       use_gamma=False, use_out=True, zero_init_out=True)


@MODELS.register_module()
class DNLOfficialHead(BaseDecodeHead):
    """Official DNL head (``NLModule_nowd``), as an mmseg decode head.

    Args:
        mid_channels: width around the block; official ``in_channels // 4``
            (the default). mmseg's ``DNLHead`` uses ``channels``.
        block_cfg: :class:`DNLBlock` arguments (``in_channels`` is set);
            default: the official block (scalar whitening, no scaling,
            gamma, unary term, ``C -> C`` value conv, reduction 2).
            ``dict(MMSEG_DNL_BLOCK, out_norm_cfg=norm_cfg)`` gives mmseg's.
        **kwargs: :class:`BaseDecodeHead` arguments; ``channels`` is the
            width after the concatenation (official 512), ``dropout_ratio``
            0.1 as officially.
    """

    def __init__(self,
                 mid_channels: Optional[int] = None,
                 block_cfg: Optional[Dict] = None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(self.in_channels, int):
            raise ArgumentValueError(
                'DNLOfficialHead reads one feature map: set in_index to one '
                "stage (or input_transform='resize_concat'); got "
                f'in_channels={self.in_channels}.')
        mid = self.in_channels // 4 if mid_channels is None else mid_channels
        if isinstance(mid, bool) or not isinstance(mid, int):
            raise ArgumentTypeError(f'DNLOfficialHead: mid_channels={mid!r} must be '
                            'an int (None: in_channels // 4, as officially).')
        if mid < 1:
            raise ArgumentValueError(f'DNLOfficialHead: mid_channels={mid} < 1; set '
                             'mid_channels or a larger in_channels.')
        self.mid_channels = mid
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg)
        block_cfg = dict(block_cfg or {})
        block_cfg.pop('type', None)
        self.convs = nn.Sequential(
            ConvModule(self.in_channels, mid, 3, padding=1, **conv),
            ConvModule(mid, mid, 3, padding=1, **conv))
        self.dnl_block = DNLBlock(mid, **block_cfg)
        self.conv_cat = ConvModule(self.in_channels + mid, self.channels, 3,
                                   padding=1, **conv)

    def forward(self, inputs) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        out = self.convs[1](self.dnl_block(self.convs[0](x)))
        out = self.conv_cat(torch.cat([x, out], dim=1))
        return self.cls_seg(out)
