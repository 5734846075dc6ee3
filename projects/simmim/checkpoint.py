"""All key remapping of Swin V1 / ViT checkpoints for SimMIM and MoBY.

Layouts read (detected from the keys, behind ``{'model': ...}`` /
``{'state_dict': ...}`` and ``module.`` / ``encoder.`` / ``backbone.``):

* **official Swin V1** (microsoft/Swin-Transformer, SimMIM and MoBY
  releases): ``patch_embed.proj``, ``layers.{i}.blocks.{j}.attn.qkv``,
  ``mlp.fc1``, ``layers.{i}.downsample`` (concat order), ``norm``, ``head``;
* **official ViT** (SimMIM's BEiT-style ViT): ``blocks.{i}.norm1``,
  ``attn.q_bias``/``v_bias``, ``mlp.fc1``, ``gamma_1``, shared
  ``rel_pos_bias`` or per-block tables, ``norm`` / ``fc_norm``, ``head``;
* **ours** = mmpretrain's ``SwinTransformer`` / ``BEiTViT`` layout (also
  mmdet's and mmseg's Swin): ``stages.{i}.blocks.{j}.attn.w_msa``,
  ``ffn.layers``, ``stages.{i}.downsample`` (``nn.Unfold`` order),
  ``norm{i}``; ``layers.{i}.ln1``, ``ffn.layers``, ``ln1``/``ln2``.

Derived buffers (``relative_position_index``, ``attn_mask``) are never
taken from a file: the model's own values are used.
"""
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import nn

from projects.swin_v2.checkpoint import (CheckpointMismatchError,
                                         official_to_unfold_reduction, unwrap)
from .relpos import resize_table, table_side

StateDict = Dict[str, torch.Tensor]

#: where self-supervised and wrapped checkpoints keep the backbone
BACKBONE_PREFIXES = ('', 'module.', 'encoder.', 'module.encoder.',
                     'backbone.', 'module.backbone.')
#: derived from the window size: always the model's own
DERIVED = ('relative_position_index', 'attn_mask')
#: SSL-only parameters a plain (fine-tuning) backbone does not have
SSL_ONLY = ('mask_token', )

SWIN_V1_OFFICIAL = re.compile(r'^layers\.\d+\.blocks\.\d+\.attn\.qkv\.')
SWIN_V1_OURS = re.compile(r'^stages\.\d+\.blocks\.\d+\.attn\.w_msa\.')
VIT_OFFICIAL = re.compile(r'^blocks\.\d+\.attn\.qkv\.')
VIT_OURS = re.compile(r'^layers\.\d+\.attn\.qkv\.')


def list_keys(keys: Sequence[str], limit: int = 12) -> str:
    keys = sorted(keys)
    more = f' ... (+{len(keys) - limit})' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def find_backbone(state_dict: dict, patterns: Sequence[re.Pattern]
                  ) -> Optional[Tuple[StateDict, str]]:
    """The sub-dict (and its prefix) whose keys match one of ``patterns``."""
    state_dict = unwrap(state_dict)
    for prefix in BACKBONE_PREFIXES:
        sub = {k[len(prefix):]: v for k, v in state_dict.items()
               if k.startswith(prefix)}
        if any(p.match(k) for p in patterns for k in sub):
            return sub, prefix
    return None


def _last_stage(keys) -> int:
    return max(int(m.group(1)) for k in keys
               for m in [re.match(r'(?:layers|stages)\.(\d+)\.', k)] if m)


#: official -> mmpretrain names inside a block (both backbones)
BLOCK_RENAMES = (('mlp.fc1.', 'ffn.layers.0.0.'),
                 ('mlp.fc2.', 'ffn.layers.1.'))


def _from_official(sd: StateDict, tops: Dict[str, str],
                   rename_block: Callable[[str, str, torch.Tensor],
                                          Tuple[str, torch.Tensor]]
                   ) -> StateDict:
    """Shared walk: derived buffers dropped, ``head`` -> ``head.fc``, the
    top-level names in ``tops`` renamed, ``patch_embed.proj`` ->
    ``projection``, block keys ``(layers|blocks).{i}.rest`` through
    ``rename_block(i, rest, value)``."""
    out = {}
    for key, value in sd.items():
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


def swin_v1_from_official(sd: StateDict) -> StateDict:
    """Official Swin V1 keys -> ours (mmpretrain ``SwinTransformer``)."""

    def block(stage: str, rest: str, value: torch.Tensor):
        rest = rest.replace('.attn.', '.attn.w_msa.')
        if rest.startswith('downsample.'):
            # official concat order [x0, x1, x2, x3] -> nn.Unfold order
            value = official_to_unfold_reduction(
                value if value.ndim == 2 else value[None])
            value = value if rest.endswith('reduction.weight') else value[0]
        return f'stages.{stage}.{rest}', value

    tops = {'head.': 'head.fc.', 'norm.': f'norm{_last_stage(sd)}.'}
    return _from_official(sd, tops, block)


def vit_from_official(sd: StateDict) -> StateDict:
    """Official SimMIM/BEiT ViT keys -> ours (mmpretrain ``BEiTViT``)."""

    def block(layer: str, rest: str, value: torch.Tensor):
        rest = re.sub(r'^norm([12])\.', r'ln\1.', rest)
        return f'layers.{layer}.{rest}', value

    tops = {'head.': 'head.fc.', 'norm.': 'ln1.', 'fc_norm.': 'ln2.'}
    return _from_official(sd, tops, block)


def fit_tables(own: StateDict, sd: StateDict,
               num_extra_tokens: int = 0) -> StateDict:
    """Resize relative-position tables of ``sd`` to ``own``'s (geometric
    progression, :func:`.relpos.resize_table`) and take derived buffers and
    missing/extra SSL-only parameters from ``own``.  Returns ``sd`` itself
    when nothing changes (a resumed checkpoint stays exact)."""
    out = dict(sd)
    changed = False
    for key, value in sd.items():
        if key.endswith('relative_position_bias_table') and key in own \
                and value.shape != own[key].shape:
            if value.shape[1] != own[key].shape[1]:
                raise CheckpointMismatchError(
                    f'{key}: {value.shape[1]} heads in the checkpoint, '
                    f'{own[key].shape[1]} in the model.')
            out[key] = resize_table(
                value, table_side(value.shape[0], num_extra_tokens),
                table_side(own[key].shape[0], num_extra_tokens),
                num_extra_tokens)
            print_log(f'{key}: relative position bias resized '
                      f'{tuple(value.shape)} -> {tuple(out[key].shape)} '
                      '(geometric-progression bicubic)', logger='current')
            changed = True
        elif key.rsplit('.', 1)[-1] in DERIVED and (
                key not in own or value.shape != own[key].shape
                or not torch.equal(value, own[key])):
            if key in own:
                out[key] = own[key]
            else:
                del out[key]
            changed = True
        elif key in SSL_ONLY and key not in own:
            del out[key]
            print_log(f'{key} (pre-training only) dropped', logger='current')
            changed = True
    for key, value in own.items():
        name = key.rsplit('.', 1)[-1]
        if key not in out and (name in DERIVED or key in SSL_ONLY):
            out[key] = value  # rebuilt / left at its initial value
            changed = True
    return out if changed else sd


def check_keys(own: StateDict, sd: StateDict, source: str,
               owner: str) -> List[str]:
    """Raise on unexpected, missing or mis-shaped keys; return the output
    norms (``norm{i}``) the checkpoint lacks, which keep their init."""
    unexpected = [k for k in sd if k not in own]
    mismatched = [f'{k} {tuple(v.shape)} vs {tuple(own[k].shape)}'
                  for k, v in sd.items()
                  if k in own and v.shape != own[k].shape]
    missing = [k for k in own if k not in sd]
    fresh = [k for k in missing if re.match(r'norm\d\.', k)]
    missing = [k for k in missing if k not in fresh]
    problems = [f'{name}: {list_keys(keys)}' for name, keys in (
        ('unexpected keys', unexpected), ('missing keys', missing),
        ('shape mismatches', mismatched)) if keys]
    if problems:
        raise CheckpointMismatchError(
            f'{source} does not match the {owner} backbone: ' +
            '; '.join(problems) + '. Check the arch (embed_dims, depths, '
            'window) and that the file holds this kind of backbone.')
    return fresh


def _head_prefix(prefix: str) -> str:
    parent = prefix[:-len('backbone.')] if prefix.endswith('backbone.') \
        else prefix
    return parent + 'head.'


def adapt_backbone_state_dict(backbone: nn.Module, state_dict: dict,
                              prefix: str, ours: re.Pattern,
                              official: re.Pattern,
                              from_official: Callable[[StateDict], StateDict],
                              fit: Callable[[StateDict], StateDict]) -> dict:
    """``adapt_state_dict`` of a backbone (see :mod:`visrep.checkpoint_adapters`).

    * Keys under ``prefix`` in our layout: tables resized / derived buffers
      refreshed by ``fit``; untouched (the same object) when they fit.
    * Otherwise a backbone in the official or our layout anywhere behind
      the known wrappers (``encoder.`` of SimMIM/MoBY releases, ``module.``,
      ``backbone.`` of our pre-training checkpoints) is converted, fitted,
      checked key by key (a mismatch is an error listing the keys) and
      placed under ``prefix``; the rest of the file is dropped (an
      official classifier head goes beside the backbone as ``head.fc``).
    """
    inner = unwrap(state_dict)
    under = {k[len(prefix):]: v for k, v in inner.items()
             if k.startswith(prefix)}
    owner = type(backbone).__name__
    if any(ours.match(k) for k in under):
        fitted = fit(under)
        if fitted is under and inner is state_dict:
            return state_dict
        kept = {k: v for k, v in inner.items() if not k.startswith(prefix)}
        kept.update({prefix + k: v for k, v in fitted.items()})
        return kept
    found = find_backbone(inner, (ours, official))
    if found is None:
        return state_dict
    sub, where = found
    layout = 'ours' if any(ours.match(k) for k in sub) else 'official'
    converted = from_official(sub) if layout == 'official' else dict(sub)
    head = {k[len('head.'):]: v for k, v in converted.items()
            if k.startswith('head.')}
    converted = fit({k: v for k, v in converted.items()
                     if not k.startswith('head.')})
    fresh = check_keys(backbone.state_dict(), converted,
                       f'checkpoint ({layout} layout at {where!r})', owner)
    out = {prefix + k: v for k, v in converted.items()}
    if head and prefix:
        out.update({_head_prefix(prefix) + k: v for k, v in head.items()})
    dropped = [k for k in inner if not k.startswith(where)]
    print_log(
        f'{owner} at {prefix!r}: {layout} backbone found under {where!r} '
        'and converted' + (f'; output norms left at init: {fresh}'
                           if fresh else '') +
        (f'; {len(dropped)} other entries ignored' if dropped else ''),
        logger='current')
    return out


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


def convert_official_backbone(sd: StateDict) -> Tuple[StateDict, str]:
    """Official backbone keys (no prefix) -> ours, and the kind.

    Swin V1 and ViT become mmpretrain's layout, SwinV2 ours
    (``projects/swin_v2``); a classifier head becomes ``head.fc.*``, a
    mask token is kept."""
    kind = simmim_backbone_kind(sd)
    if kind == 'swin_v1':
        return swin_v1_from_official(sd), kind
    if kind == 'vit':
        return vit_from_official(sd), kind
    from projects.swin_v2.checkpoint import checkpoint_filter_fn
    extra = {k: v for k, v in sd.items() if k in SSL_ONLY}
    backbone, head, _ = checkpoint_filter_fn(
        {k: v for k, v in sd.items() if k not in SSL_ONLY})
    backbone.update(extra)
    backbone.update({'head.' + k: v for k, v in head.items()})
    return backbone, kind


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
