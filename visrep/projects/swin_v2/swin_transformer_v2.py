"""Swin Transformer V2 backbone in the official layout (Liu et al., CVPR 2022).

Parameter names follow the official checkpoints (``patch_embed``,
``layers.{i}.blocks.{j}``, ``layers.{i}.downsample`` at the *end* of stage
``i``), with one LayerNorm per output (``norm{i}``; ``norm3`` is the
official final ``norm``).  Outputs are NCHW maps for ``out_indices`` (the
FPN/UperNet input), or the last one for classification necks.
"""
from typing import Dict, List, Optional, Sequence, Set, Tuple, Union

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from visrep.checkpoint import StateDict
from visrep.models import init_official_weights
from visrep.registry import MODELS
from .arguments import check_backbone_arguments
from .attention import check_attn_chunk_size
from .block import SwinV2Block
from .patch_merging import PatchMergingV2
from .window_plan import (BlockLayout, assemble_plan, plan_layout,
                          plan_tensors, window_plan)
from .windows import PermuteTokens

#: arch -> embed_dims, depths, num_heads, extra_norm_every_n_blocks.
#: H and G heads are mmpretrain's (the paper gives only C and depths).
ARCH_ZOO: Dict[str, dict] = {
    'tiny': dict(embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24),
                 extra_norm_every_n_blocks=0),
    'small': dict(embed_dims=96, depths=(2, 2, 18, 2),
                  num_heads=(3, 6, 12, 24), extra_norm_every_n_blocks=0),
    'base': dict(embed_dims=128, depths=(2, 2, 18, 2),
                 num_heads=(4, 8, 16, 32), extra_norm_every_n_blocks=0),
    'large': dict(embed_dims=192, depths=(2, 2, 18, 2),
                  num_heads=(6, 12, 24, 48), extra_norm_every_n_blocks=0),
    'huge': dict(embed_dims=352, depths=(2, 2, 18, 2),
                 num_heads=(8, 16, 32, 64), extra_norm_every_n_blocks=6),
    'giant': dict(embed_dims=512, depths=(2, 2, 42, 4),
                  num_heads=(16, 32, 64, 128), extra_norm_every_n_blocks=6),
}
ARCH_ALIASES = {'t': 'tiny', 's': 'small', 'b': 'base', 'l': 'large',
                'h': 'huge', 'g': 'giant'}

#: names the official recipe excludes from weight decay (besides 1-D params)
NO_WEIGHT_DECAY_KEYWORDS = ('cpb_mlp', 'logit_scale',
                            'relative_position_bias_table')


def _per_stage(value, name: str, stages: int) -> Tuple:
    values = tuple(value) if isinstance(value, (list, tuple)) else \
        (value, ) * stages
    if len(values) != stages:
        raise ValueError(f'{name}={value!r}: give one value or one per stage '
                         f'({stages}).')
    return values


class PatchEmbed(nn.Module):
    """Non-overlapping patches: ``proj`` (conv, stride = patch) then ``norm``.

    ``patch_size`` has one entry per spatial axis: 2 for images (Conv2d),
    3 for videos (Conv3d, ``(time, height, width)``).
    """

    def __init__(self, in_channels: int, embed_dims: int,
                 patch_size: Sequence[int]):
        super().__init__()
        self.patch_size = tuple(patch_size)
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[len(self.patch_size)]
        self.proj = conv(in_channels, embed_dims, self.patch_size,
                         self.patch_size)
        self.norm = nn.LayerNorm(embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *S)`` -> ``(B, *S/p, D)`` (padded to whole patches)."""
        pads = [-size % p for size, p in zip(x.shape[2:], self.patch_size)]
        if any(pads):
            widths = []  # F.pad takes the last axis first
            for pad in reversed(pads):
                widths += [0, pad]
            x = F.pad(x, widths)
        return self.norm(self.proj(x).movedim(1, -1))


class SwinV2Stage(nn.Module):
    """``depth`` blocks (shift on odd ones), then optional patch merging.

    Works on ``(B, *spatial, C)`` maps of images (H, W) and videos (T, H, W)
    alike; the merging halves the last two axes only.

    When no block needs padding, the tokens stay in window order through
    the stage: one gather per block moves them from the previous block's
    (shifted) windows to the next block's, and one more back to raster order
    at the end -- instead of roll, partition, reverse and roll back in every
    block.  Otherwise each block runs on the raster map (padding as needed).
    """

    def __init__(self, dim: int, depth: int, num_heads: int,
                 window_size: Tuple[int, ...],
                 pretrained_window_size: Tuple[int, ...],
                 drop_paths: List[float],
                 downsample: bool, extra_norm_every_n_blocks: int,
                 with_cp: bool, **block_kwargs):
        super().__init__()
        self.with_cp = with_cp
        self.blocks = nn.ModuleList([
            SwinV2Block(
                dim, num_heads, window_size, shift=bool(i % 2),
                pretrained_window_size=pretrained_window_size,
                drop_path=drop_paths[i],
                extra_norm=bool(extra_norm_every_n_blocks) and
                (i + 1) % extra_norm_every_n_blocks == 0,
                **block_kwargs) for i in range(depth)
        ])
        self.downsample = PatchMergingV2(dim) if downsample else None
        self._plans: Dict[tuple, Optional[tuple]] = {}
        #: (spatial, plan layout) of the plan kept in buffers, or None
        self._buffered_plan: Optional[tuple] = None

    def _block_layouts(self) -> Tuple[BlockLayout, ...]:
        return tuple((block.window_size, block.shift_size,
                      block.window_clip) for block in self.blocks)

    def buffer_plan(self, spatial: Tuple[int, ...]) -> None:
        """Keep the window plan of inputs of size ``spatial`` (the
        configured ``img_size``) in non-persistent buffers ``plan_*``.

        They follow the module across devices, stay out of checkpoints, and
        are read -- not recomputed -- by a ``torch.compile`` graph, which
        cannot use the eager cache (as timm keeps its attention masks for
        its ``img_size``).  Other sizes still work as before.
        """
        layout = plan_layout(spatial, self._block_layouts())
        if layout is None:
            return
        for (step, field), tensor in plan_tensors(spatial, layout).items():
            self.register_buffer(f'plan_{step}_{field}', tensor,
                                 persistent=False)
        self._buffered_plan = (tuple(spatial), layout)

    def _window_plan(self, spatial: Tuple[int, ...], device) -> Optional[tuple]:
        """Per block ``((index, inverse) or None, mask, window)``, and the
        gather back (see :mod:`.window_plan`); None when a block pads.

        For the configured size, read from the ``plan_*`` buffers (see
        :meth:`buffer_plan`); for other sizes cached here in eager mode, and
        computed in the graph under ``torch.compile`` (no graph break).
        """
        if self._buffered_plan is not None and \
                spatial == self._buffered_plan[0]:
            return assemble_plan(
                self._buffered_plan[1],
                lambda step, field: getattr(self, f'plan_{step}_{field}'))
        key = (spatial, device)
        if key in self._plans:
            return self._plans[key]
        plan = window_plan(spatial, self._block_layouts(), device)
        if not torch.compiler.is_compiling():
            self._plans[key] = plan
        return plan

    def _run(self, block: nn.Module, *args):
        """``block(*args)``, checkpointed with ``with_cp``: always the module
        call, so a wrapped block (an FSDP unit) gathers its parameters."""
        if self.with_cp and args[0].requires_grad:
            return cp.checkpoint(block, *args, use_reentrant=False)
        return block(*args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self._window_plan(tuple(x.shape[1:-1]), x.device)
        if plan is None:
            for block in self.blocks:
                x = self._run(block, x)
            return x
        steps, back = plan
        shape = x.shape
        tokens = x.reshape(shape[0], -1, shape[-1])
        for block, (gather, mask, window) in zip(self.blocks, steps):
            if gather is not None:
                tokens = PermuteTokens.apply(tokens, *gather)
            tokens = self._run(block, tokens, mask, window)
        if back is not None:
            tokens = PermuteTokens.apply(tokens, *back)
        return tokens.view(shape)


@MODELS.register_module()
class SwinTransformerV2(BaseModule):
    """Swin Transformer V2 backbone, official behaviour (``type='visrep.SwinTransformerV2'``).

    Res-post-norm blocks with zero-initialised post norms, scaled cosine
    attention, log-spaced continuous position bias, patch merging V2, window
    clipping on small maps -- see ``visrep/projects/swin_v2/README.md``.

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'``, ``'large'``, ``'huge'``,
            ``'giant'`` (or ``t/s/b/l/h/g``), or a dict with ``embed_dims``,
            ``depths``, ``num_heads`` (and ``extra_norm_every_n_blocks``).
        img_size: the training resolution: each stage keeps its window
            plan (token orders, shift masks) for it in buffers, which
            compiled graphs read instead of recomputing; any input size
            works (inputs are padded to whole patches and windows).
        patch_size: patch size of the embedding.
        in_channels: input channels.
        window_size: window size, one int or one per stage.
        pretrained_window_sizes: the window each stage's position bias was
            pre-trained with (0: none), one int or one per stage, e.g.
            ``(12, 12, 12, 6)`` when fine-tuning 192px/w12 weights.
        mlp_ratio: MLP width / channels.
        qkv_bias: learn q and v biases.
        drop_rate: dropout after the embedding, projections and MLPs.
        attn_drop_rate: dropout on attention weights.
        drop_path_rate: stochastic depth, rising linearly over the blocks.
        out_indices: stages whose outputs are returned (each normalised by
            its own ``norm{i}``), in ``[-num_stages, num_stages)``; a
            negative index counts from the end; default the last stage.
        frozen_stages: -1 none; 0 the patch embedding; k >= 1 also the
            first k stages (their blocks, downsampling and output norms) --
            mmdet's Swin convention.
        norm_eval: keep BatchNorm layers (none in Swin V2 itself) in eval
            mode during training.
        with_cp: activation checkpointing per block.
        extra_norm_every_n_blocks: override the arch's extra LayerNorm
            period on the main branch (H/G: 6, as mmpretrain places it).
        window_clip: how a window meets a small map: ``'official'``,
            ``'per_axis'`` (timm) or ``'pad'`` (mmpretrain ``pad_small_map``).
        fused_attention: the fast attention path (SDPA on CUDA), else the
            reference path; see :class:`.attention.WindowAttentionV2`.
        attn_chunk_size: sequential self-attention (paper section 3.4):
            each attention layer attends to this many windows at a time
            and recomputes each chunk in backward, bounding its peak memory
            by one chunk's attention matrices.  One int, or one per stage
            (e.g. ``(16, 16, 0, 0)``: the first two stages, as the paper);
            None or 0: off (default).  Same values and gradients.
        zero_init_post_norm: zero the weight and bias of every block's
            ``norm1``/``norm2`` at init (official ``_init_respostnorm``).
        init_cfg: mmengine init config; ``dict(type='Pretrained',
            checkpoint=..., prefix=...)`` loads official, mmpretrain, timm or
            visrep-layout checkpoints (see :mod:`.checkpoint`).
    """
    arch_zoo = ARCH_ZOO
    #: spatial axes of the input: 2 (H, W); the video backbone has 3
    spatial_dims = 2

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 img_size: Union[int, Tuple[int, int]] = 256,
                 patch_size: int = 4,
                 in_channels: int = 3,
                 window_size: Union[int, Sequence[int]] = 8,
                 pretrained_window_sizes: Union[int, Sequence[int]] = 0,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.2,
                 out_indices: Sequence[int] = (-1, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 extra_norm_every_n_blocks: Optional[int] = None,
                 window_clip: str = 'official',
                 fused_attention: bool = True,
                 attn_chunk_size: Union[None, int, Sequence] = None,
                 zero_init_post_norm: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = self._arch_settings(arch)
        self.embed_dims = settings['embed_dims']
        self.depths = tuple(settings['depths'])
        self.num_heads = tuple(settings['num_heads'])
        num_stages = len(self.depths)
        check_backbone_arguments(
            num_stages, window_size=window_size,
            pretrained_window_sizes=pretrained_window_sizes,
            patch_size=patch_size, out_indices=out_indices)
        if extra_norm_every_n_blocks is None:
            extra_norm_every_n_blocks = settings.get(
                'extra_norm_every_n_blocks', 0)
        self.img_size = img_size
        self.window_sizes = _per_stage(window_size, 'window_size', num_stages)
        self.pretrained_window_sizes = _per_stage(
            pretrained_window_sizes, 'pretrained_window_sizes', num_stages)
        self.attn_chunk_sizes = tuple(
            check_attn_chunk_size(c) for c in _per_stage(
                attn_chunk_size, 'attn_chunk_size', num_stages))
        self.out_indices = tuple(i % num_stages for i in out_indices)
        if not self.out_indices:
            raise ValueError('out_indices is empty: name at least one stage.')
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_post_norm = zero_init_post_norm

        self.patch_embed = PatchEmbed(
            in_channels, self.embed_dims,
            self._as_window(patch_size, 'patch_size'))
        self.pos_drop = nn.Dropout(drop_rate)
        total = sum(self.depths)  # stochastic depth rises linearly
        drop_paths = [drop_path_rate * i / max(total - 1, 1)
                      for i in range(total)]
        self.layers = nn.ModuleList()
        self.num_features: List[int] = []
        dim = self.embed_dims
        for i, depth in enumerate(self.depths):
            start = sum(self.depths[:i])
            self.layers.append(
                SwinV2Stage(
                    dim, depth, self.num_heads[i],
                    self._as_window(self.window_sizes[i], 'window_size'),
                    self._as_pretrained_window(
                        self.pretrained_window_sizes[i]),
                    drop_paths[start:start + depth],
                    downsample=i < num_stages - 1,
                    extra_norm_every_n_blocks=extra_norm_every_n_blocks,
                    with_cp=with_cp,
                    mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate,
                    attn_drop=attn_drop_rate, window_clip=window_clip,
                    fused_attention=fused_attention,
                    attn_chunk_size=self.attn_chunk_sizes[i]))
            self.num_features.append(dim)
            if i < num_stages - 1:
                dim *= 2
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.num_features[i]))
        if self.spatial_dims == 2:
            self._buffer_plans(img_size, patch_size)
        self._freeze_stages()

    def _buffer_plans(self, img_size, patch_size) -> None:
        """Each stage keeps the window plan of ``img_size`` inputs in
        buffers (read by compiled graphs; see ``SwinV2Stage.buffer_plan``)."""
        sizes = (img_size, ) * 2 if isinstance(img_size, int) else img_size
        patch = self._as_window(patch_size, 'patch_size')
        spatial = tuple(-(-int(s) // p) for s, p in zip(sizes, patch))
        for stage in self.layers:
            stage.buffer_plan(spatial)
            spatial = tuple(-(-s // 2) for s in spatial)  # patch merging

    def _as_window(self, value, name: str) -> Tuple[int, ...]:
        """One stage's window (or patch) per spatial axis."""
        if isinstance(value, int):
            return (value, ) * self.spatial_dims
        value = tuple(value)
        if len(value) != self.spatial_dims:
            raise ValueError(f'{name}={value!r}: give an int or '
                             f'{self.spatial_dims} values per stage.')
        return value

    def _as_pretrained_window(self, value) -> Tuple[int, ...]:
        return self._as_window(value, 'pretrained_window_sizes')

    @classmethod
    def _arch_settings(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, dict):
            missing = {'embed_dims', 'depths', 'num_heads'} - set(arch)
            if missing:
                raise ValueError(f'arch dict lacks {sorted(missing)}.')
            if len(arch['depths']) != len(arch['num_heads']):
                raise ValueError('arch: depths and num_heads need one entry '
                                 'per stage each.')
            return dict(arch)
        name = ARCH_ALIASES.get(str(arch).lower(), str(arch).lower())
        if name not in ARCH_ZOO:
            raise ValueError(f'arch={arch!r} is not one of {sorted(ARCH_ZOO)} '
                             f'(or {sorted(ARCH_ALIASES)}), nor a dict.')
        return ARCH_ZOO[name]

    # ---------------------------------------------------------------- init
    def _init_default(self) -> None:
        """Official ``_init_weights`` (PyTorch's truncated-normal sampler)
        then ``_init_respostnorm``."""
        init_official_weights(self, sampler=nn.init.trunc_normal_)
        if self.zero_init_post_norm:
            for block in self.all_blocks():
                for norm in (block.norm1, block.norm2):
                    nn.init.zeros_(norm.weight)
                    nn.init.zeros_(norm.bias)

    def init_weights(self) -> None:
        init_cfg = self.init_cfg or {}
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            from .checkpoint import load_pretrained
            self._init_default()
            load_pretrained(self, init_cfg['checkpoint'],
                            prefix=init_cfg.get('prefix', None),
                            map_location=init_cfg.get('map_location', 'cpu'))
            self._is_init = True
            return
        if not self._is_init:
            self._init_default()
        super().init_weights()

    def fit_checkpoint(self, state_dict: dict) -> dict:
        """Backbone keys of a checkpoint, made to fit this model's shapes.

        Called on every converted checkpoint before its keys are checked;
        the 2-D model takes them as they are (the video model inflates 2-D
        weights).
        """
        return state_dict

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        """Read official / timm / mmpretrain checkpoints in ``load_from`` too
        (see :func:`.checkpoint.adapt_foreign_state_dict`)."""
        from .checkpoint import adapt_foreign_state_dict
        return adapt_foreign_state_dict(self, state_dict, prefix, model)

    @staticmethod
    def convert_checkpoint(state_dict: StateDict) -> StateDict:
        """Any supported Swin V2 checkpoint -> visrep-layout keys, a
        classifier head under ``head.`` (the registry-facing converter,
        :data:`visrep.checkpoint.CONVERTER`)."""
        from .checkpoint import split_swin_v2_checkpoint
        backbone, head, _ = split_swin_v2_checkpoint(state_dict)
        backbone.update({'head.' + k: v for k, v in head.items()})
        return backbone

    # ---------------------------------------------------------------- run
    def all_blocks(self) -> List[SwinV2Block]:
        """Every block of every stage, in order."""
        return [b for stage in self.layers for b in stage.blocks]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, stage in enumerate(self.layers):
            x = stage(x)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(x)
                outs.append(out.movedim(-1, 1).contiguous())
            if stage.downsample is not None:
                x = stage.downsample(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        frozen = []
        if self.frozen_stages >= 0:
            frozen.append(self.patch_embed)
        for i in range(min(self.frozen_stages, len(self.layers))):
            frozen.append(self.layers[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f'norm{i}'))
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ---------------------------------------------------------------- optim
    def no_weight_decay(self) -> Set[str]:
        """Parameter names the official recipe trains without weight decay."""
        return {
            name for name, param in self.named_parameters()
            if param.ndim <= 1 or name.endswith('.bias') or any(
                k in name for k in NO_WEIGHT_DECAY_KEYWORDS)
        }

    def get_layer_depth(self, param_name: str,
                        prefix: str = '') -> Tuple[int, int]:
        """Layer id for layer-wise lr decay (mmpretrain's Swin convention).

        The patch embedding is layer 0, block ``k`` (counted over all
        stages) is ``k + 1``, a stage's patch merging shares its last
        block's id, output norms and anything outside the backbone are the
        last layer.  Returns ``(layer_id, num_layers)``; mmpretrain's
        ``LearningRateDecayOptimWrapperConstructor`` and
        ``visrep.SwinV2OptimWrapperConstructor`` use it.
        """
        num_layers = sum(self.depths) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('layers.'):
            parts = name.split('.')
            stage = int(parts[1])
            if parts[2] == 'blocks':
                return sum(self.depths[:stage]) + int(parts[3]) + 1, num_layers
            return sum(self.depths[:stage + 1]), num_layers
        return num_layers - 1, num_layers
