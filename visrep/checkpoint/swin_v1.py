"""Swin V1 checkpoints: official key names -> the visrep layout (mmpretrain's).

Official Swin V1 releases (microsoft/Swin-Transformer, SimMIM and MoBY
pre-training) name blocks ``layers.{i}.blocks.{j}.attn.qkv``, ``mlp.fc1``,
put the patch merging at the end of stage ``i`` in concat channel order and
end with ``norm`` and ``head``; :class:`visrep.models.SwinTransformerV1`
uses mmpretrain's names (:mod:`.layout`).
"""
import re

import torch

from .layout import last_stage
from .official_names import rename_official_keys
from .patch_merging import official_to_unfold_reduction
from .state_dict import StateDict

#: a block key of an official Swin V1 state dict
SWIN_V1_OFFICIAL = re.compile(r'^layers\.\d+\.blocks\.\d+\.attn\.qkv\.')
#: a block key in the visrep layout (mmpretrain's ``SwinTransformer``)
SWIN_V1_VISREP = re.compile(r'^stages\.\d+\.blocks\.\d+\.attn\.w_msa\.')


def swin_v1_from_official(state_dict: StateDict) -> StateDict:
    """Official Swin V1 keys -> the visrep layout (mmpretrain ``SwinTransformer``)."""

    def block(stage: str, rest: str, value: torch.Tensor):
        rest = rest.replace('.attn.', '.attn.w_msa.')
        if rest.startswith('downsample.'):
            # official concat order [x0, x1, x2, x3] -> nn.Unfold order
            value = official_to_unfold_reduction(
                value if value.ndim == 2 else value[None])
            value = value if rest.endswith('reduction.weight') else value[0]
        return f'stages.{stage}.{rest}', value

    tops = {'head.': 'head.fc.', 'norm.': f'norm{last_stage(state_dict)}.'}
    return rename_official_keys(state_dict, tops, block)
