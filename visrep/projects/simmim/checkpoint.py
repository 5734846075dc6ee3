"""SimMIM's checkpoint conversions: the ViT rename table and whole release files.

Layouts read (detected from the keys, behind ``{'model': ...}`` /
``{'state_dict': ...}`` and ``module.`` / ``encoder.`` / ``backbone.``):

* **official ViT** (SimMIM's BEiT-style ViT): ``blocks.{i}.norm1``,
  ``attn.q_bias``/``v_bias``, ``mlp.fc1``, ``gamma_1``, shared
  ``rel_pos_bias`` or per-block tables, ``norm`` / ``fc_norm``, ``head``;
  converted here to the visrep layout (mmpretrain's ``BEiTViT`` names, see
  :mod:`visrep.checkpoint.layout`);
* **official Swin V1** encoders: converted by the core
  (:func:`visrep.checkpoint.swin_v1_from_official`);
* **official Swin V2** encoders: converted by the registered
  ``SwinTransformerV2`` class (its ``convert_checkpoint``), looked up in the
  registry so this plugin does not import the Swin V2 plugin.

Derived buffers (``relative_position_index``, ``attn_mask``) are never
taken from a file: the model's own values are used.
"""
import re
from typing import Callable, Tuple

import torch

from visrep.checkpoint import (CONVERTER, SSL_ONLY, SWIN_V1_OFFICIAL,
                               CheckpointMismatchError, StateDict,
                               rename_official_keys, swin_v1_from_official,
                               unwrap)

#: a block key of an official SimMIM / BEiT ViT state dict
VIT_OFFICIAL = re.compile(r'^blocks\.\d+\.attn\.qkv\.')
#: a block key in the visrep layout (mmpretrain's ``BEiTViT``)
VIT_VISREP = re.compile(r'^layers\.\d+\.attn\.qkv\.')
#: the registered class that converts official Swin V2 encoders
SWIN_V2_BACKBONE = 'SwinTransformerV2'


def vit_from_official(state_dict: StateDict) -> StateDict:
    """Official SimMIM/BEiT ViT keys -> the visrep layout (mmpretrain ``BEiTViT``)."""

    def block(layer: str, rest: str, value: torch.Tensor):
        rest = re.sub(r'^norm([12])\.', r'ln\1.', rest)
        return f'layers.{layer}.{rest}', value

    tops = {'head.': 'head.fc.', 'norm.': 'ln1.', 'fc_norm.': 'ln2.'}
    return rename_official_keys(state_dict, tops, block)


def simmim_backbone_kind(sd: StateDict) -> str:
    """``'swin_v2'``, ``'swin_v1'`` or ``'vit'`` for official backbone keys."""
    if any('cpb_mlp' in k for k in sd):
        return 'swin_v2'
    if any(SWIN_V1_OFFICIAL.match(k) for k in sd):
        return 'swin_v1'
    if any(VIT_OFFICIAL.match(k) for k in sd):
        return 'vit'
    raise CheckpointMismatchError(
        'no official Swin V1 / SwinV2 / ViT keys (layers.*.blocks.*, '
        f'blocks.*) in this state dict; first keys: {list(sd)[:6]}')


def swin_v2_from_official(sd: StateDict) -> StateDict:
    """Official Swin V2 encoder keys -> the visrep layout, through the
    registered ``SwinTransformerV2``; a mask token is kept, a classifier
    head becomes ``head.fc.*``."""
    from visrep.registry import MODELS
    convert = getattr(MODELS.get(SWIN_V2_BACKBONE), CONVERTER)
    converted = convert({k: v for k, v in sd.items() if k not in SSL_ONLY})
    out = {k: v for k, v in converted.items() if not k.startswith('head.')}
    out.update({k: v for k, v in sd.items() if k in SSL_ONLY})
    out.update({k: v for k, v in converted.items() if k.startswith('head.')})
    return out


def convert_official_backbone(sd: StateDict) -> Tuple[StateDict, str]:
    """Official backbone keys (no prefix) -> the visrep layout, and the kind.

    A classifier head becomes ``head.fc.*``, a mask token is kept."""
    kind = simmim_backbone_kind(sd)
    if kind == 'swin_v1':
        return swin_v1_from_official(sd), kind
    if kind == 'vit':
        return vit_from_official(sd), kind
    return swin_v2_from_official(sd), kind


def convert_official_simmim(checkpoint: dict) -> Tuple[StateDict, str]:
    """An official SimMIM file -> our model's state dict, and the kind.

    Pre-training files (``encoder.*``, ``decoder.0.*``) become
    ``backbone.*`` + ``neck.decoder.0.*`` (our ``visrep.SimMIM``);
    fine-tuned classifiers become ``backbone.*`` + ``head.fc.*``
    (an mmpretrain ``ImageClassifier``)."""
    sd = unwrap(checkpoint)
    encoder = {k[len('encoder.'):]: v for k, v in sd.items()
               if k.startswith('encoder.')}
    backbone, kind = convert_official_backbone(encoder or sd)
    out = {('' if k.startswith('head.') else 'backbone.') + k: v
           for k, v in backbone.items()}
    out.update({'neck.decoder.' + k[len('decoder.'):]: v
                for k, v in sd.items() if k.startswith('decoder.')})
    return out, kind


def plain_backbone(state_dict: StateDict,
                   prefix: str = 'backbone.') -> StateDict:
    """The backbone keys of a model state dict, without ``prefix`` and
    without SSL-only entries (the mask token)."""
    backbone = {k[len(prefix):]: v for k, v in state_dict.items()
                if k.startswith(prefix) and k[len(prefix):] not in SSL_ONLY}
    if not backbone:
        raise CheckpointMismatchError(
            f'no {prefix}* keys: not a backbone or pre-training checkpoint '
            f'(first keys: {list(state_dict)[:6]}).')
    return backbone


def convert_file(src: str, dst: str,
                 convert: Callable[[dict], Tuple[StateDict, dict]]) -> None:
    """Read ``src`` (mmengine's loader), ``convert(checkpoint) -> (state
    dict, meta)``, write ``{'state_dict', 'meta'}`` to ``dst``: the body of
    the converter tools."""
    import os.path as osp

    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(src, 'cpu')
    state_dict, meta = convert(checkpoint)
    meta = dict(meta, converted_from=osp.basename(src))
    torch.save(dict(state_dict=state_dict, meta=meta), dst)
    print(f'{src}: {len(state_dict)} tensors ({meta}) -> {dst}')
