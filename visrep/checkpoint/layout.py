"""Checkpoint layouts: what "visrep layout" means, and helpers to read a layout.

A *layout* is the set of key names a checkpoint uses for one backbone
family.  Converters detect the layout of a file from its keys and rename it
to the **visrep layout**, the key names of the suite's own module of that
family -- the names ``model.state_dict()`` of a visrep model has, so a file
in the visrep layout loads (and resumes) unchanged:

======================  ====================================================
backbone family         visrep layout
======================  ====================================================
Swin V2 (image, video)  the official microsoft/Swin-Transformer names
                        (``layers.{i}.blocks.{j}``, ``layers.{i}.downsample``
                        at the end of stage ``i``) with one output norm per
                        stage, ``norm{i}`` (``norm3`` is the official
                        ``norm``)
Swin V1                 mmpretrain's ``SwinTransformer`` names (also mmdet's
                        and mmseg's Swin): ``stages.{i}.blocks.{j}.attn.w_msa``,
                        ``ffn.layers``, ``stages.{i}.downsample`` at the
                        start of stage ``i + 1`` in ``nn.Unfold`` channel
                        order, ``norm{i}``
ViT (SimMIM / BEiT)     mmpretrain's ``BEiTViT`` names: ``layers.{i}.ln1``,
                        ``ffn.layers``, ``ln1`` / ``ln2``
======================  ====================================================

Detectors name it :data:`VISREP_LAYOUT`; other layouts are named after
their source (``'official'``, ``'timm'``, ``'mmpretrain'``).
"""
import re
from typing import Iterable, Optional, Sequence, Tuple

from .state_dict import StateDict, sub_state_dict, unwrap

#: the name detectors give the suite's own layout (see the module doc)
VISREP_LAYOUT = 'visrep'
#: buffers derived from the window size: always the model's own
DERIVED = ('relative_position_index', 'attn_mask')
#: parameters only a self-supervised encoder has (not its plain backbone)
SSL_ONLY = ('mask_token', )
#: where self-supervised and wrapped checkpoints keep the backbone
BACKBONE_PREFIXES = ('', 'module.', 'encoder.', 'module.encoder.',
                     'backbone.', 'module.backbone.')


def last_stage(keys: Iterable[str]) -> int:
    """Index of the last stage named by ``layers.{i}.`` / ``stages.{i}.`` keys."""
    return max(int(m.group(1)) for k in keys
               for m in [re.match(r'(?:layers|stages)\.(\d+)\.', k)] if m)


def head_prefix(backbone_prefix: str) -> str:
    """Where a classifier keeps its head: beside the backbone (``head.``)."""
    parent = backbone_prefix[:-len('backbone.')] \
        if backbone_prefix.endswith('backbone.') else backbone_prefix
    return parent + 'head.'


def find_backbone(state_dict: dict, patterns: Sequence[re.Pattern]
                  ) -> Optional[Tuple[StateDict, str]]:
    """The sub-dict (and its prefix, one of :data:`BACKBONE_PREFIXES`)
    whose keys match one of ``patterns``; ``None`` if there is none."""
    state_dict = unwrap(state_dict)
    for prefix in BACKBONE_PREFIXES:
        sub = sub_state_dict(state_dict, prefix)
        if any(p.match(k) for p in patterns for k in sub):
            return sub, prefix
    return None
