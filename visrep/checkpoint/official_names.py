"""The walk that renames official Swin V1 / ViT keys to mmpretrain's names.

The official Swin V1 and the official SimMIM/BEiT ViT share the naming
scheme: blocks under ``layers.{i}`` / ``blocks.{i}``, ``mlp.fc1/fc2``, a
final ``norm``, a ``head`` Linear.  Each family supplies the top-level
renames and a per-block rename; this walk does the rest.
"""
import re
from typing import Callable, Dict, Tuple

import torch

from .layout import DERIVED
from .state_dict import StateDict

#: ``rename_block(index, rest, value) -> (key, value)`` for ``(layers|blocks).{index}.{rest}``
BlockRename = Callable[[str, str, torch.Tensor], Tuple[str, torch.Tensor]]

#: official -> mmpretrain names inside a block (both backbones)
BLOCK_RENAMES = (('mlp.fc1.', 'ffn.layers.0.0.'),
                 ('mlp.fc2.', 'ffn.layers.1.'))


def rename_official_keys(state_dict: StateDict, tops: Dict[str, str],
                         rename_block: BlockRename) -> StateDict:
    """Official keys -> mmpretrain's.

    Derived buffers are dropped, the top-level names in ``tops`` renamed
    (e.g. ``head.`` -> ``head.fc.``), ``patch_embed.proj`` becomes
    ``patch_embed.projection``, and block keys ``(layers|blocks).{i}.rest``
    go through :data:`BLOCK_RENAMES` and then ``rename_block(i, rest,
    value)``.
    """
    out = {}
    for key, value in state_dict.items():
        if key.rsplit('.', 1)[-1] in DERIVED:
            continue
        top = key.split('.', 1)[0] + '.'
        if top in tops:
            key = tops[top] + key[len(top):]
        key = key.replace('patch_embed.proj.', 'patch_embed.projection.')
        match = re.match(r'(?:layers|blocks)\.(\d+)\.(.*)', key)
        if match:
            index, rest = match.groups()
            for old, new in BLOCK_RENAMES:
                rest = rest.replace(old, new)
            key, value = rename_block(index, rest, value)
        out[key] = value
    return out
