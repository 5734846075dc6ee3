"""All foreign-key remapping of Swin V2 checkpoints lives here.

Layouts understood (detected from the keys):

* ``official`` -- microsoft/Swin-Transformer releases, ``{'model': sd}``:
  ``layers.{i}.downsample`` at the end of stage ``i``, final ``norm``,
  ``head``, plus the derived buffers ``relative_coords_table``,
  ``relative_position_index`` and ``attn_mask``.
* ``timm`` -- ``timm`` ``swinv2_*`` state dicts: downsampling at the start
  of stages 1-3 (``layers.{i+1}.downsample``), ``head.fc``.
* ``mmpretrain`` -- mmpretrain's converted SwinV2 checkpoints
  (``backbone.stages.{i}.blocks.{j}.attn.w_msa.*``, ``ffn.layers``,
  downsampling at the start of stages 1-3 with the ``nn.Unfold`` channel
  order, ``head.fc``).
* ``visrep`` -- the visrep layout (:mod:`visrep.checkpoint.layout`): the
  official names with one output norm per stage, ``norm{i}``.

:func:`split_swin_v2_checkpoint` turns any of them into visrep-layout
backbone keys plus classifier-head keys (``head.fc.*``);
:func:`load_pretrained` loads a file into a backbone and refuses (listing
them) keys that do not match.
"""
import re
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from visrep.checkpoint import (VISREP_LAYOUT, CheckpointMismatchError,
                               StateDict, check_keys, describe_keys,
                               head_prefix, last_stage, sub_state_dict,
                               unfold_to_official_reduction, unwrap)

#: buffers derived from the window size: never loaded, always rebuilt
DERIVED_BUFFERS = ('relative_coords_table', 'relative_position_index',
                   'attn_mask', 'k_bias')


def detect_layout(state_dict: StateDict) -> str:
    """``'official'``, ``'timm'``, ``'mmpretrain'`` or ``'visrep'``
    (:data:`~visrep.checkpoint.VISREP_LAYOUT`)."""
    keys = list(state_dict)
    if any('.attn.w_msa.' in k or k.startswith('stages.') for k in keys):
        return 'mmpretrain'
    has_output_norms = any(re.match(r'norm\d\.', k) for k in keys)
    if any(re.match(r'layers\.0\.downsample\.', k) for k in keys):
        return VISREP_LAYOUT if has_output_norms else 'official'
    if any(re.match(r'layers\.\d+\.downsample\.', k) for k in keys):
        return 'timm'
    if any(k.startswith('layers.') for k in keys):
        # a single-stage model has no downsampling: tell by the final norm
        return VISREP_LAYOUT if has_output_norms else 'official'
    raise CheckpointMismatchError(
        'no Swin V2 keys (layers.*, stages.*) in this state dict; first keys: '
        f'{keys[:8]}')


def _strip_prefixes(state_dict: StateDict, prefixes: Sequence[str]
                    ) -> StateDict:
    for prefix in prefixes:
        if prefix and all(k.startswith(prefix) or k.startswith('head.')
                          for k in state_dict):
            state_dict = {(k[len(prefix):] if k.startswith(prefix) else k): v
                          for k, v in state_dict.items()}
    return state_dict


def _from_official(sd: StateDict, last: int) -> StateDict:
    out = {}
    for k, v in sd.items():
        if k.startswith('norm.'):
            k = f'norm{last}.' + k[len('norm.'):]
        elif k.startswith('head.') and not k.startswith('head.fc.'):
            k = 'head.fc.' + k[len('head.'):]
        out[k] = v
    return out


def _from_timm(sd: StateDict, last: int) -> StateDict:
    out = {}
    for k, v in sd.items():
        match = re.match(r'layers\.(\d+)\.downsample\.(.*)', k)
        if match:
            k = f'layers.{int(match.group(1)) - 1}.downsample.{match.group(2)}'
        elif k.startswith('norm.'):
            k = f'norm{last}.' + k[len('norm.'):]
        out[k] = v
    return out


def _from_mmpretrain(sd: StateDict) -> StateDict:
    out = {}
    for k, v in sd.items():
        k = k.replace('patch_embed.projection.', 'patch_embed.proj.')
        k = k.replace('.attn.w_msa.', '.attn.')
        k = k.replace('.ffn.layers.0.0.', '.mlp.fc1.')
        k = k.replace('.ffn.layers.1.', '.mlp.fc2.')
        match = re.match(r'stages\.(\d+)\.downsample\.(.*)', k)
        if match:
            k = f'layers.{int(match.group(1)) - 1}.downsample.{match.group(2)}'
            if k.endswith('reduction.weight'):
                v = unfold_to_official_reduction(v)
        k = re.sub(r'^stages\.', 'layers.', k)
        out[k] = v
    return out


def split_swin_v2_checkpoint(checkpoint: dict,
                             prefixes: Sequence[str] = ('module.',
                                                        'backbone.',
                                                        'encoder.')
                             ) -> Tuple[StateDict, StateDict, str]:
    """Any supported Swin V2 checkpoint -> (backbone keys, head keys, layout).

    Backbone keys are in the visrep layout (output norm ``norm3`` for the
    official final ``norm``); head keys are those of an mmpretrain
    ``LinearClsHead`` (``fc.weight``, ``fc.bias``); ``layout`` is the
    detected source layout (:func:`detect_layout`).  Derived buffers are
    dropped.
    """
    sd = _strip_prefixes(dict(unwrap(checkpoint)), prefixes)
    sd = {k: v for k, v in sd.items()
          if k.rsplit('.', 1)[-1] not in DERIVED_BUFFERS}
    layout = detect_layout(sd)
    last = last_stage(sd)
    if layout == 'official':
        sd = _from_official(sd, last)
    elif layout == 'timm':
        sd = _from_timm(sd, last)
    elif layout == 'mmpretrain':
        sd = _from_mmpretrain(sd)
    else:
        sd = _from_official(sd, last)  # a head saved as head.* is mapped too
    head = {k[len('head.'):]: v for k, v in sd.items() if k.startswith('head.')}
    backbone = {k: v for k, v in sd.items() if not k.startswith('head.')}
    return backbone, head, layout


#: Facts read off the official ``data/map22kto1k.txt`` of
#: microsoft/Swin-Transformer, relative to the sorted fall11 synset list:
#: the one 1k synset fall11 lacks, 'teddy, teddy bear' (n04399382), takes the
#: row of n03013580 'chemise, shimmy, shift, slip, teddy' ...
OFFICIAL_22K_ROW_FOR_MISSING = {'n04399382': 'n03013580'}
#: ... and Microsoft's 21841-class list holds one class more than fall11
#: before each of these fall11 positions (one in (9204, 9211], one in
#: (14964, 15730]), which shifts the later rows.
MICROSOFT_22K_EXTRA_CLASS_BEFORE = (9211, 15730)


def map_22k_to_1k_rows() -> List[int]:
    """Row of the official 22K head for each ImageNet-1k class.

    The official ``data/map22kto1k.txt``: positions of the 1k synsets in the
    sorted fall11 list (shipped with timm), shifted past the two classes
    Microsoft's list adds, with the official row for the one missing synset.
    """
    try:
        from timm.data import ImageNetInfo
    except ImportError as err:  # pragma: no cover
        raise ImportError('the 22K->1K head mapping reads the synset lists '
                          'shipped with timm: pip install timm') from err
    synsets_22k = ImageNetInfo('imagenet-22k').label_names()
    position = {wnid: i for i, wnid in enumerate(synsets_22k)}
    rows = []
    for wnid in ImageNetInfo('imagenet-1k').label_names():
        fall11 = position[OFFICIAL_22K_ROW_FOR_MISSING.get(wnid, wnid)]
        rows.append(fall11 + sum(fall11 >= p
                                 for p in MICROSOFT_22K_EXTRA_CLASS_BEFORE))
    return rows


def map_head_22k_to_1k(head: StateDict) -> StateDict:
    """Keep the 1000 ImageNet-1k rows of a 21841-class (IN-22K) head."""
    if head['fc.weight'].shape[0] != 21841:
        raise CheckpointMismatchError(
            f"head has {head['fc.weight'].shape[0]} classes, not the 21841 "
            'of ImageNet-22K: nothing to remap.')
    rows = torch.tensor(map_22k_to_1k_rows())
    return {k: v[rows] for k, v in head.items()}


def match_backbone_keys(backbone: torch.nn.Module, state_dict: StateDict,
                        source: str = 'checkpoint') -> List[str]:
    """Check ``state_dict`` against the backbone; return keys left at init.

    Unexpected keys, shape mismatches and missing keys are errors listing
    them -- except the output norms ``norm{i}`` of stages the checkpoint was
    not trained to output (e.g. ``norm0..2`` when a classification
    checkpoint initialises a detection backbone), which stay at their
    initial values and are returned.
    """
    return check_keys(
        backbone.state_dict(), state_dict, source,
        f'{type(backbone).__name__} backbone (arch embed_dims='
        f'{backbone.embed_dims}, depths={backbone.depths})',
        'Check the arch, or that this is a Swin V2 checkpoint.')


#: a Swin V2 key relative to the backbone
_SWIN_KEY = re.compile(r'^(?:layers|stages)\.\d+\.(?:blocks|downsample)\.')
#: a bare Swin V2 checkpoint at the root: optionally behind a DDP / SSL wrapper
_BARE_SWIN_KEY = re.compile(
    r'^(?:module\.|encoder\.)?(?:layers|stages)\.\d+\.(?:blocks|downsample)\.')


def adapt_foreign_state_dict(backbone: torch.nn.Module, state_dict: dict,
                             prefix: str, model: torch.nn.Module) -> dict:
    """``adapt_state_dict`` of the backbone (see :mod:`visrep.checkpoint.adapters`).

    Two cases are converted to the visrep layout:

    * keys under ``prefix`` in a foreign layout (an mmpretrain classifier);
    * no key under ``prefix``, but a bare Swin V2 checkpoint at the root --
      an official ``{'model': ...}`` release or a timm state dict (possibly
      behind ``module.`` / ``encoder.``).

    The converted keys are checked against the backbone (mismatches raise
    :class:`CheckpointMismatchError`); a classifier head goes beside the
    backbone (``head.fc.*``), its 22K rows mapped to 1K when the model's head
    has 1000 classes.  The visrep layout passes through untouched.
    """
    inner = unwrap(state_dict)
    under_prefix = sub_state_dict(inner, prefix)
    if any(_SWIN_KEY.match(k) for k in under_prefix):
        if inner is state_dict and \
                detect_layout(under_prefix) == VISREP_LAYOUT and \
                backbone.fit_checkpoint(under_prefix) is under_prefix:
            return state_dict
        source, kept = under_prefix, {k: v for k, v in inner.items()
                                      if not k.startswith(prefix)}
    elif prefix and not under_prefix and any(
            _BARE_SWIN_KEY.match(k) for k in inner):
        source, kept = dict(inner), {}
    else:
        return state_dict
    backbone_sd, head, layout = split_swin_v2_checkpoint(source)
    backbone_sd = backbone.fit_checkpoint(backbone_sd)
    new_norms = match_backbone_keys(backbone, backbone_sd,
                                    f'checkpoint ({layout} layout)')
    kept.update({prefix + k: v for k, v in backbone_sd.items()})
    if head:
        head_at = head_prefix(prefix)
        target = model.state_dict().get(head_at + 'fc.weight')
        if target is not None and target.shape[0] == 1000 and \
                head['fc.weight'].shape[0] == 21841:
            head = map_head_22k_to_1k(head)
            print_log('SwinTransformerV2: 22K head mapped to the 1K classes.',
                      logger='current')
        kept.update({head_at + k: v for k, v in head.items()})
    print_log(f'SwinTransformerV2 at {prefix!r}: {layout} checkpoint layout '
              'converted' + (f'; output norms left at init: '
                             f'{describe_keys(new_norms)}'
                             if new_norms else ''), logger='current')
    return kept


def load_pretrained(backbone: torch.nn.Module,
                    filename: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> str:
    """Load an official / timm / mmpretrain / visrep-layout checkpoint into ``backbone``.

    ``prefix`` (e.g. ``'backbone.'``) selects a sub-model of the
    checkpoint; by default the known wrappers (``module.``, ``backbone.``,
    ``encoder.``) are stripped.  A classifier head in the file is ignored.
    Returns the detected layout.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    sd = unwrap(checkpoint)
    if prefix:
        sd = sub_state_dict(sd, prefix)
        if not sd:
            raise CheckpointMismatchError(
                f'{filename} has no keys with prefix {prefix!r}.')
    backbone_sd, _, layout = split_swin_v2_checkpoint(sd)
    backbone_sd = backbone.fit_checkpoint(backbone_sd)
    new_norms = match_backbone_keys(backbone, backbone_sd, filename)
    backbone.load_state_dict(backbone_sd, strict=False)
    print_log(
        f'SwinTransformerV2: loaded {filename} ({layout} layout)' +
        (f'; output norms initialised fresh: {describe_keys(new_norms)}'
         if new_norms else ''), logger='current')
    return layout
