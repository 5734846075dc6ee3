"""Disentangled non-local (DNL) block for 1-D, 2-D and 3-D feature maps.

The official block (``_NonLocalNd_nowd`` in yinmh17/DNL-Semantic-Segmentation,
``model/seg/ops/nonlocal_block_nowd.py``) computes, with ``x'`` = ``x`` or
``x`` max-pooled over space (``downsample``)::

    q = W_q x    k = W_k x'    v = W_v x'    m = w_m x'       (1x1 convs)
    y_i = gamma * sum_j w_pair(i, j) v_j  +  sum_j w_unary(j) v_j
    out_i = x_i + [norm(conv_out(y))]_i

with ``w_pair``/``w_unary`` from :mod:`.attention`.  The unary term has its
own mask conv (``with_gc``) and shares the value transform with the pairwise
term.  Released configs: ``whiten_type=['ln_nostd']`` (one scalar mean),
``nowd=['nl']`` (no ``1/sqrt(C')`` scaling and no weight decay on the
query/key convs), ``use_out=False`` (``W_v`` is ``C -> C``, no output conv),
``out_bn=False``, ``downsample=False``, every conv N(0, 0.01) with zero bias,
``gamma`` initialised to 0.  Parameter names follow the official module, so
its state dicts load as they are.
"""
import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import nn

from visrep.errors import ArgumentTypeError, ArgumentValueError
from visrep.registry import MODELS
from .attention import WHITEN_MODES, pairwise_weights, unary_weights
from .attention import whiten as whiten_tokens

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
#: official key/value down-sampling: 2x2 max-pool on the spatial axes only
_POOL = {1: (nn.MaxPool1d, 2), 2: (nn.MaxPool2d, (2, 2)),
         3: (nn.MaxPool3d, (1, 2, 2))}
_NORM_TYPES = {1: 'BN1d', 2: 'BN2d', 3: 'BN3d'}


@MODELS.register_module()
class DNLBlock(nn.Module):
    """Disentangled non-local block (official behaviour by default).

    Works as an mmcv plugin layer (``build_plugin_layer`` passes
    ``in_channels``; the layer is named ``dnl_block<postfix>``), e.g. in an
    mmdet / mmseg ResNet (mmpretrain's ResNet has no ``plugins``; its
    configs can take ``type='mmdet.ResNet'``)::

        plugins=[dict(cfg=dict(type='visrep.DNLBlock'),
                      stages=(False, False, True, True),
                      position='after_conv3')]

    Args:
        in_channels: channels ``C`` of the input (and output).
        dim: spatial dimensions of the input: 1 ``(N, C, L)``, 2
            ``(N, C, H, W)`` or 3 ``(N, C, T, H, W)``.
        reduction: query/key width ``C' = C // reduction`` (official head:
            ``planes = inplanes // 2``).
        whiten: ``'scalar'`` (official ``ln_nostd``), ``'channel'`` (paper /
            mmseg, ``in_nostd``) or ``None`` (no whitening).
        use_scale: divide the logits by ``sqrt(C')`` (off in the official
            ``nowd`` block; on in mmseg and the official ``temp`` block).
        temperature: divide the logits by it (1: official ``nowd``; mmseg
            0.05, the official ADE20K ``temp`` config 0.1).
        use_gamma: multiply the pairwise term by a learnable scalar
            ``gamma`` (official); ``False`` = weight 1 (mmseg).
        gamma_init: initial ``gamma`` (official 0: the pairwise term starts
            switched off and its query/key convs get gradients only once
            ``gamma`` has moved).
        pairwise: compute the pairwise term (official ``with_nl``).
        unary: add the unary term (official ``with_gc``).
        use_out: ``W_v``: ``C -> C'`` followed by ``conv_out`` ``C' -> C``
            (no bias), instead of ``W_v: C -> C`` without output conv.
        out_norm_cfg: a norm after ``conv_out`` (official ``out_bn``, mmseg's
            ``norm_cfg``), e.g. ``dict(type='BN')``; needs ``use_out``.
        zero_init_out: start the block as the identity on the residual
            branch by zero-initialising the output norm (or ``conv_out``), as
            mmcv/mmseg do; needs ``use_out``.
        downsample: max-pool ``x`` 2x over space before the key, value and
            mask convs (official option; ``(1, 2, 2)`` for 3-D).
        init_std: std of the normal init of every conv (official 0.01).
        attn_impl: how the pairwise term ``softmax(q k^T s) v`` is computed:
            ``'matmul'`` (two matmuls and a softmax over the ``L x L'``
            matrix), ``'sdpa'`` (``F.scaled_dot_product_attention``: fused
            kernels that never store the matrix where PyTorch has one, its
            math fallback otherwise) or ``'auto'`` (default): SDPA when the
            value width equals the query/key width (``use_out=True``; the
            fused CPU kernel needs equal widths, and it never stores the
            ``L x L'`` matrix; figures in ``benchmarks/README.md``), matmul
            otherwise.  Same values and gradients (tested).
    """

    _abbr_ = 'dnl_block'

    def __init__(self,
                 in_channels: int,
                 dim: int = 2,
                 reduction: int = 2,
                 whiten: Optional[str] = 'scalar',
                 use_scale: bool = False,
                 temperature: float = 1.0,
                 use_gamma: bool = True,
                 gamma_init: float = 0.0,
                 pairwise: bool = True,
                 unary: bool = True,
                 use_out: bool = False,
                 out_norm_cfg: Optional[Dict] = None,
                 zero_init_out: bool = False,
                 downsample: bool = False,
                 init_std: float = 0.01,
                 attn_impl: str = 'auto'):
        super().__init__()
        self._check_args(in_channels, dim, reduction, whiten, temperature,
                         pairwise, unary, use_out, out_norm_cfg,
                         zero_init_out, attn_impl)
        conv = _CONV[dim]
        self.in_channels = in_channels
        self.dim = dim
        self.planes = in_channels // reduction
        self.whiten = whiten
        self.use_scale = use_scale
        self.temperature = float(temperature)
        self.with_pairwise = pairwise
        self.with_unary = unary
        self.zero_init_out = zero_init_out
        self.init_std = init_std
        self.attn_impl = attn_impl
        self.gamma_init = float(gamma_init)

        value_channels = self.planes if use_out else in_channels
        self.conv_value = conv(in_channels, value_channels, 1, bias=use_out)
        if pairwise:
            self.conv_query = conv(in_channels, self.planes, 1)
            self.conv_key = conv(in_channels, self.planes, 1)
        if unary:
            self.conv_mask = conv(in_channels, 1, 1)
        self.gamma = nn.Parameter(torch.zeros(1)) if (
            pairwise and use_gamma) else None
        self.conv_out = conv(self.planes, in_channels, 1, bias=False) \
            if use_out else None
        self.out_norm = None
        if out_norm_cfg is not None:
            norm_cfg = dict(out_norm_cfg)
            if norm_cfg.get('type') == 'BN':
                norm_cfg['type'] = _NORM_TYPES[dim]
            self.out_norm = build_norm_layer(norm_cfg, in_channels)[1]
        if downsample:
            pool, size = _POOL[dim]
            self.downsample = pool(kernel_size=size, stride=size)
        else:
            self.downsample = None
        self.reset_parameters()

    @staticmethod
    def _check_args(in_channels, dim, reduction, whiten, temperature,
                    pairwise, unary, use_out, out_norm_cfg, zero_init_out,
                    attn_impl):
        name = 'DNLBlock'
        if dim not in _CONV:
            raise ArgumentValueError(f'{name}: dim={dim!r} must be 1, 2 or 3 (the '
                             'spatial dimensions of the input).')
        for arg, value in (('in_channels', in_channels),
                           ('reduction', reduction)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ArgumentTypeError(
                    f'{name}: {arg}={value!r} must be an int (query/key '
                    'width = in_channels // reduction, officially '
                    'reduction=2).')
        if reduction < 1 or in_channels // reduction < 1:
            raise ArgumentValueError(
                f'{name}: reduction={reduction} leaves no query/key channel '
                f'for in_channels={in_channels}; use 1 <= reduction <= '
                'in_channels.')
        if whiten not in WHITEN_MODES:
            raise ArgumentValueError(
                f"{name}: whiten={whiten!r}: choose 'scalar' (official "
                "ln_nostd), 'channel' (paper / mmseg) or None.")
        if not temperature > 0:
            raise ArgumentValueError(f'{name}: temperature={temperature} must be > 0.')
        if not (pairwise or unary):
            raise ArgumentValueError(f'{name}: pairwise=False and unary=False leave '
                             'nothing to compute; enable at least one.')
        if attn_impl not in ('auto', 'sdpa', 'matmul'):
            raise ArgumentValueError(f"{name}: attn_impl={attn_impl!r}: choose "
                             "'auto', 'sdpa' or 'matmul'.")
        if (out_norm_cfg is not None or zero_init_out) and not use_out:
            raise ArgumentValueError(f'{name}: out_norm_cfg / zero_init_out act on '
                             'conv_out; set use_out=True.')

    # ---------------------------------------------------------------- init
    def reset_parameters(self) -> None:
        """Official init: every conv N(0, init_std), zero biases, gamma."""
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                nn.init.normal_(module.weight, 0.0, self.init_std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if self.out_norm is not None:
            self.out_norm.reset_parameters()
        if self.gamma is not None:
            nn.init.constant_(self.gamma, self.gamma_init)
        if self.zero_init_out:
            if self.out_norm is not None:
                nn.init.zeros_(self.out_norm.weight)
            else:
                nn.init.zeros_(self.conv_out.weight)

    def init_weights(self) -> None:
        """Called by mmengine's ``BaseModule.init_weights`` after a parent's
        ``init_cfg`` (e.g. Kaiming on every conv of a ResNet) ran, so the
        block keeps its own init."""
        self.reset_parameters()

    # ------------------------------------------------------------- forward
    @property
    def logit_scale(self) -> float:
        scale = 1.0 / math.sqrt(self.planes) if self.use_scale else 1.0
        return scale / self.temperature

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != self.dim + 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'DNLBlock(dim={self.dim}, in_channels={self.in_channels}) '
                f'got an input of shape {tuple(x.shape)}; expected (N, '
                f'{self.in_channels}, {self.dim} spatial sizes). Set `dim` '
                '(or use DNLBlock1d/2d/3d) to match the feature map.')

    def _project(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The 1x1 convs as token matmuls ``(N, L, C) -> (N, L, .)``.

        Without down-sampling all convs read the same tokens, so their
        weights are stacked into one matmul.
        """
        source = x if self.downsample is None else self.downsample(x)
        names = [n for n, on in (('query', self.with_pairwise),
                                 ('key', self.with_pairwise),
                                 ('value', True), ('mask', self.with_unary))
                 if on]
        convs = [getattr(self, f'conv_{n}') for n in names]
        tokens = x.flatten(2).transpose(1, 2)
        out: Dict[str, torch.Tensor] = {}
        if self.downsample is None:
            weight = torch.cat([c.weight.flatten(1) for c in convs])
            bias = torch.cat([
                c.bias if c.bias is not None else
                c.weight.new_zeros(c.out_channels) for c in convs])
            parts = F.linear(tokens, weight, bias).split(
                [c.out_channels for c in convs], dim=-1)
            return dict(zip(names, parts))
        source_tokens = source.flatten(2).transpose(1, 2)
        for name, conv in zip(names, convs):
            out[name] = F.linear(tokens if name == 'query' else source_tokens,
                                 conv.weight.flatten(1), conv.bias)
        return out

    def attention_maps(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``pairwise`` ``(N, L, L')`` and ``unary`` ``(N, L')`` weights."""
        self._check_input(x)
        p = self._project(x)
        maps = {}
        if self.with_pairwise:
            maps['pairwise'] = pairwise_weights(p['query'], p['key'],
                                                self.whiten, self.logit_scale)
        if self.with_unary:
            maps['unary'] = unary_weights(p['mask'])[..., 0]
        return maps

    def _pairwise(self, query: torch.Tensor, key: torch.Tensor,
                  value: torch.Tensor) -> torch.Tensor:
        """``sum_j w_pair(i, j) v_j`` for every query position ``i``."""
        use_sdpa = self.attn_impl == 'sdpa' or (
            self.attn_impl == 'auto' and query.shape[-1] == value.shape[-1])
        if not use_sdpa:
            attn = pairwise_weights(query, key, self.whiten, self.logit_scale)
            return torch.bmm(attn, value)
        query = whiten_tokens(query, self.whiten).contiguous()
        key = whiten_tokens(key, self.whiten).contiguous()
        return F.scaled_dot_product_attention(
            query[:, None], key[:, None], value.contiguous()[:, None],
            scale=self.logit_scale)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        p = self._project(x)
        value = p['value']  # (N, L', Cv)
        y = None
        if self.with_pairwise:
            y = self._pairwise(p['query'], p['key'], value)  # (N, L, Cv)
            if self.gamma is not None:
                y = y * self.gamma
        if self.with_unary:
            # (N, 1, Cv): one context vector, broadcast to every position
            unary = torch.bmm(unary_weights(p['mask']).transpose(1, 2), value)
            y = unary.expand(-1, x.shape[2:].numel(), -1) if y is None \
                else y + unary
        if self.conv_out is not None:
            y = F.linear(y, self.conv_out.weight.flatten(1))
        y = y.transpose(1, 2).reshape(x.shape)
        if self.out_norm is not None:
            y = self.out_norm(y)
        return x + y


@MODELS.register_module()
class DNLBlock1d(DNLBlock):
    """:class:`DNLBlock` for ``(N, C, L)`` sequences."""

    def __init__(self, in_channels: int, **kwargs):
        super().__init__(in_channels, dim=1, **kwargs)


@MODELS.register_module()
class DNLBlock2d(DNLBlock):
    """:class:`DNLBlock` for ``(N, C, H, W)`` images (same as the default)."""

    def __init__(self, in_channels: int, **kwargs):
        super().__init__(in_channels, dim=2, **kwargs)


@MODELS.register_module()
class DNLBlock3d(DNLBlock):
    """:class:`DNLBlock` for ``(N, C, T, H, W)`` videos (pooling 1x2x2)."""

    def __init__(self, in_channels: int, **kwargs):
        super().__init__(in_channels, dim=3, **kwargs)


def build_dnl_block(in_channels: int, dim: int,
                    cfg: Optional[Dict] = None) -> DNLBlock:
    """A :class:`DNLBlock` of ``dim`` from a config without ``type``/``dim``."""
    cfg = dict(cfg or {})
    cfg.pop('type', None)
    if cfg.pop('dim', dim) != dim:
        raise ValueError(f'dnl_cfg dim does not match the {dim}-D backbone; '
                         'drop `dim` from the config.')
    return DNLBlock(in_channels, dim=dim, **cfg)


__all__ = ['DNLBlock', 'DNLBlock1d', 'DNLBlock2d', 'DNLBlock3d',
           'build_dnl_block']
