"""Inflating 2-D Swin V2 weights into the 3-D (video) backbone.

Two tensors change shape between an image and a video Swin V2; everything
else (attention, MLPs, norms, patch merging, ``cpb_mlp.2``, ``logit_scale``)
is copied as it is and the derived tables are rebuilt for the 3-D windows:

* ``patch_embed.proj.weight`` ``(C, 3, p, p)`` -> ``(C, 3, t, p, p)``:
  repeated over the ``t`` frames of a temporal patch and divided by ``t``
  (Video Swin's inflation; a static clip embeds as the image did);
* every ``attn.cpb_mlp.0.weight`` ``(hidden, 2)`` -> ``(hidden, 3)``: a zero
  column is prepended for the time offset, the first coordinate of the 3-D
  table (``dt, dh, dw``).  The position bias of every frame offset then
  starts equal to the image bias of the same spatial offset.
"""
import re

import torch

from visrep.checkpoint import StateDict

_CPB_FIRST = re.compile(r'.*\.attn\.cpb_mlp\.0\.weight$')


def is_2d_checkpoint(state_dict: StateDict) -> bool:
    """Whether backbone keys come from an image model (4-D patch embedding)."""
    weight = state_dict.get('patch_embed.proj.weight')
    return weight is not None and weight.ndim == 4


def inflate_2d_state_dict(state_dict: StateDict,
                          temporal_patch: int) -> StateDict:
    """A copy of 2-D backbone keys inflated for a 3-D backbone (see above)."""
    if temporal_patch < 1:
        raise ValueError(f'temporal_patch={temporal_patch}: must be >= 1.')
    out = dict(state_dict)
    weight = out['patch_embed.proj.weight']
    out['patch_embed.proj.weight'] = weight.unsqueeze(2).repeat(
        1, 1, temporal_patch, 1, 1) / temporal_patch
    for key, value in state_dict.items():
        if _CPB_FIRST.match(key):
            if value.shape[1] != 2:
                raise ValueError(f'{key}: expected a 2-D position-bias MLP '
                                 f'(hidden, 2), got {tuple(value.shape)}.')
            out[key] = torch.cat([value.new_zeros(value.shape[0], 1), value],
                                 dim=1)
    return out
