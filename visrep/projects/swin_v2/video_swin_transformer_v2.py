"""Video Swin Transformer V2: the Swin V2 backbone on 3-D (T, H, W) windows.

The SwinV2 paper reports Video-SwinV2-G on Kinetics-400 (86.8 top-1) but
released no video code.  This backbone is the 2-D one with every spatial
piece made 3-D, sharing the same blocks, attention and geometry code
(``windows.py`` is N-dimensional):

* patch embedding by a Conv3d with a temporal patch ``t`` (1 or 2);
* 3-D (shifted) windows with their masks; a window is clipped per axis to a
  smaller input and stops shifting on that axis (mmaction2's Video Swin
  ``get_window_size``; the 2-D "official" rule would clip every axis to the
  few frames);
* the log-spaced continuous position bias on three coordinates
  ``(dt, dh, dw)``, each normalised by its own pretrained window (or the
  current one), a temporal window of 1 left at 0: ``cpb_mlp`` is
  ``Linear(3, 512)``;
* res-post-norm blocks with zero-initialised post norms, scaled cosine
  attention, patch merging V2 on the two spatial axes only (no temporal
  down-sampling, as Video Swin).

2-D checkpoints of any layout (official, timm, mmpretrain, ours) are inflated
on load (:mod:`.inflate`).  Outputs are ``(B, C, T', H', W')`` maps; with one
``out_indices`` entry the tensor itself (mmaction2's convention, what
``I3DHead`` takes).
"""
from typing import Optional, Sequence, Tuple, Union

import torch

from visrep.registry import MODELS
from .arguments import check_backbone_arguments
from .inflate import inflate_2d_state_dict, is_2d_checkpoint
from .swin_transformer_v2 import SwinTransformerV2


@MODELS.register_module()
class VideoSwinTransformerV2(SwinTransformerV2):
    """3-D Swin V2 backbone for mmaction2 (``type='visrep.VideoSwinTransformerV2'``).

    Args:
        arch: as :class:`SwinTransformerV2` (``tiny`` ... ``giant`` or a dict).
        patch_size: ``(t, p, p)`` patch of the embedding; ``t`` is the
            temporal patch (Video Swin uses 2; 1 keeps every frame).
        window_size: ``(Wt, Wh, Ww)`` for all stages, or one 3-tuple per
            stage.
        pretrained_window_sizes: the windows the position bias was trained
            with, per stage: an int or ``(h, w)`` for a 2-D (image)
            checkpoint (the time axis then normalises by the current
            temporal window), or ``(t, h, w)``; 0 = none.
        window_clip: ``'per_axis'`` (default, Video Swin), or ``'pad'``.
        **kwargs: every other argument of :class:`SwinTransformerV2`
            (``drop_path_rate``, ``out_indices``, ``frozen_stages``,
            ``norm_eval``, ``with_cp``, ``attn_chunk_size`` -- sequential
            self-attention over the 3-D windows --, ``init_cfg``, ...).

    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` and ``load_from``
    take 2-D image checkpoints (inflated) and 3-D ones alike.
    """
    spatial_dims = 3

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 patch_size: Sequence[int] = (2, 4, 4),
                 window_size: Sequence = (8, 7, 7),
                 pretrained_window_sizes: Union[int, Sequence] = 0,
                 window_clip: str = 'per_axis',
                 drop_path_rate: float = 0.1,
                 out_indices: Sequence[int] = (-1, ),
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        if window_clip == 'official':
            raise ValueError(
                "window_clip='official' clips every axis to the smallest "
                "one, i.e. to the few frames of a clip: use 'per_axis' "
                "(default) or 'pad' for videos.")
        num_stages = len(self._arch_settings(arch)['depths'])
        check_backbone_arguments(
            num_stages, window_size=window_size,
            pretrained_window_sizes=pretrained_window_sizes,
            patch_size=patch_size, out_indices=out_indices)
        window_size = self._per_stage_tuples(window_size, num_stages)
        super().__init__(
            arch=arch, patch_size=tuple(patch_size), window_size=window_size,
            pretrained_window_sizes=pretrained_window_sizes,
            window_clip=window_clip, drop_path_rate=drop_path_rate,
            out_indices=out_indices, init_cfg=init_cfg, **kwargs)

    @staticmethod
    def _per_stage_tuples(value, num_stages: int):
        """A single 3-tuple means "every stage"; else one entry per stage."""
        if isinstance(value, int):
            return value
        value = list(value)
        if len(value) == 3 and all(isinstance(v, int) for v in value) \
                and num_stages != 3:
            return [tuple(value)] * num_stages
        return value

    def _as_pretrained_window(self, value) -> Tuple[int, ...]:
        if isinstance(value, int):
            return (0, value, value)
        value = tuple(value)
        if len(value) == 2:  # a 2-D (image) window: none on the time axis
            return (0, ) + value
        return self._as_window(value, 'pretrained_window_sizes')

    @property
    def temporal_patch(self) -> int:
        return self.patch_embed.patch_size[0]

    def fit_checkpoint(self, state_dict: dict) -> dict:
        """Inflate 2-D (image) weights; 3-D ones pass unchanged."""
        if is_2d_checkpoint(state_dict):
            return inflate_2d_state_dict(state_dict, self.temporal_patch)
        return state_dict

    def forward(self, x: torch.Tensor
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        """``(B, C, T, H, W)`` -> ``(B, C', T/t, H/32, W/32)`` (per output)."""
        outs = super().forward(x)
        return outs[0] if len(outs) == 1 else outs
