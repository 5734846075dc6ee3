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
* ``visrep`` -- ours (the official layout with ``norm{i}`` output norms).

:func:`checkpoint_filter_fn` turns any of them into our backbone keys plus
classifier-head keys (``head.fc.*``); :func:`load_pretrained` loads a file
into a backbone and refuses (listing them) keys that do not match.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

StateDict = Dict[str, torch.Tensor]

#: buffers derived from the window size: never loaded, always rebuilt
DERIVED_BUFFERS = ('relative_coords_table', 'relative_position_index',
                   'attn_mask', 'k_bias')


class CheckpointMismatchError(ValueError):
    """Keys of a checkpoint and a model do not match; the message lists them."""


def unwrap(checkpoint: dict) -> dict:
    """The state dict inside ``{'model': ...}`` / ``{'state_dict': ...}``."""
    for key in ('model', 'state_dict'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def detect_layout(state_dict: StateDict) -> str:
    """``'official'``, ``'timm'``, ``'mmpretrain'`` or ``'visrep'``."""
    keys = list(state_dict)
    if any('.attn.w_msa.' in k or k.startswith('stages.') for k in keys):
        return 'mmpretrain'
    if any(re.match(r'layers\.0\.downsample\.', k) for k in keys):
        ours = any(re.match(r'norm\d\.', k) for k in keys)
        return 'visrep' if ours else 'official'
    if any(re.match(r'layers\.\d+\.downsample\.', k) for k in keys):
        return 'timm'
    if any(k.startswith('layers.') for k in keys):
        # a single-stage model has no downsampling: tell by the final norm
        return 'visrep' if any(re.match(r'norm\d\.', k)
                               for k in keys) else 'official'
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


def unfold_to_official_reduction(weight: torch.Tensor) -> torch.Tensor:
    """mmpretrain's ``nn.Unfold`` channel order -> official concat order.

    Unfold orders the 4C inputs channel-major over the 2x2 offsets in
    row-major order (``c*4 + k``); the official patch merging concatenates
    offset-major ``[(0,0), (1,0), (0,1), (1,1)]`` (``k*C + c``).
    """
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, in_channels // 4, 4).transpose(1, 2)
    return weight[:, [0, 2, 1, 3]].reshape(out_channels, in_channels)


def official_to_unfold_reduction(weight: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`unfold_to_official_reduction` (used by the tests)."""
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, 4, in_channels // 4)[:, [0, 2, 1, 3]]
    return weight.transpose(1, 2).reshape(out_channels, in_channels)


def _last_stage(state_dict: StateDict) -> int:
    stages = [int(m.group(1)) for k in state_dict
              for m in [re.match(r'(?:layers|stages)\.(\d+)\.', k)] if m]
    return max(stages)


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


def checkpoint_filter_fn(checkpoint: dict,
                         prefixes: Sequence[str] = ('module.', 'backbone.',
                                                    'encoder.')
                         ) -> Tuple[StateDict, StateDict, str]:
    """Any supported Swin V2 checkpoint -> (backbone keys, head keys, layout).

    Backbone keys are ours (official layout, output norm ``norm3``); head
    keys are those of an mmpretrain ``LinearClsHead`` (``fc.weight``,
    ``fc.bias``).  Derived buffers are dropped.
    """
    sd = _strip_prefixes(dict(unwrap(checkpoint)), prefixes)
    sd = {k: v for k, v in sd.items()
          if k.rsplit('.', 1)[-1] not in DERIVED_BUFFERS}
    layout = detect_layout(sd)
    last = _last_stage(sd)
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


def _describe(keys: List[str], limit: int = 20) -> str:
    shown = ', '.join(sorted(keys)[:limit])
    more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return shown + more


def match_backbone_keys(backbone: torch.nn.Module, state_dict: StateDict,
                        source: str = 'checkpoint') -> List[str]:
    """Check ``state_dict`` against the backbone; return keys left at init.

    Unexpected keys, shape mismatches and missing keys are errors listing
    them -- except the output norms ``norm{i}`` of stages the checkpoint was
    not trained to output (e.g. ``norm0..2`` when a classification
    checkpoint initialises a detection backbone), which stay at their
    initial values and are returned.
    """
    own = backbone.state_dict()
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state_dict.items() if k in own and v.shape != own[k].shape
    ]
    missing = [k for k in own if k not in state_dict]
    new_norms = [k for k in missing if re.match(r'norm\d\.', k)]
    missing = [k for k in missing if k not in new_norms]
    problems = []
    if unexpected:
        problems.append(f'unexpected keys: {_describe(unexpected)}')
    if missing:
        problems.append(f'missing keys: {_describe(missing)}')
    if mismatched:
        problems.append(f'shape mismatches: {_describe(mismatched)}')
    if problems:
        raise CheckpointMismatchError(
            f'{source} does not match the {type(backbone).__name__} backbone '
            f'(arch embed_dims={backbone.embed_dims}, depths='
            f'{backbone.depths}): ' + '; '.join(problems) + '. Check the '
            'arch, or that this is a Swin V2 checkpoint.')
    return new_norms


#: a Swin V2 key relative to the backbone
_SWIN_KEY = re.compile(r'^(?:layers|stages)\.\d+\.(?:blocks|downsample)\.')
#: a bare Swin V2 checkpoint at the root: optionally behind a DDP / SSL wrapper
_BARE_SWIN_KEY = re.compile(
    r'^(?:module\.|encoder\.)?(?:layers|stages)\.\d+\.(?:blocks|downsample)\.')


def _head_prefix(backbone_prefix: str) -> str:
    """Where a classifier keeps its head: beside the backbone (``head.``)."""
    parent = backbone_prefix[:-len('backbone.')] \
        if backbone_prefix.endswith('backbone.') else backbone_prefix
    return parent + 'head.'


def adapt_foreign_state_dict(backbone: torch.nn.Module, state_dict: dict,
                             prefix: str, model: torch.nn.Module) -> dict:
    """``adapt_state_dict`` of the backbone (see :mod:`visrep.checkpoint_adapters`).

    Two cases are converted to our layout:

    * keys under ``prefix`` in a foreign layout (an mmpretrain classifier);
    * no key under ``prefix``, but a bare Swin V2 checkpoint at the root --
      an official ``{'model': ...}`` release or a timm state dict (possibly
      behind ``module.`` / ``encoder.``).

    The converted keys are checked against the backbone (mismatches raise
    :class:`CheckpointMismatchError`); a classifier head goes beside the
    backbone (``head.fc.*``), its 22K rows mapped to 1K when the model's head
    has 1000 classes.  Our own layout passes through untouched.
    """
    inner = unwrap(state_dict)
    under_prefix = {k[len(prefix):]: v for k, v in inner.items()
                    if k.startswith(prefix)}
    if any(_SWIN_KEY.match(k) for k in under_prefix):
        if inner is state_dict and detect_layout(under_prefix) == 'visrep' \
                and backbone.fit_checkpoint(under_prefix) is under_prefix:
            return state_dict
        source, kept = under_prefix, {k: v for k, v in inner.items()
                                      if not k.startswith(prefix)}
    elif prefix and not under_prefix and any(
            _BARE_SWIN_KEY.match(k) for k in inner):
        source, kept = dict(inner), {}
    else:
        return state_dict
    backbone_sd, head, layout = checkpoint_filter_fn(source)
    backbone_sd = backbone.fit_checkpoint(backbone_sd)
    new_norms = match_backbone_keys(backbone, backbone_sd,
                                    f'checkpoint ({layout} layout)')
    kept.update({prefix + k: v for k, v in backbone_sd.items()})
    if head:
        head_prefix = _head_prefix(prefix)
        target = model.state_dict().get(head_prefix + 'fc.weight')
        if target is not None and target.shape[0] == 1000 and \
                head['fc.weight'].shape[0] == 21841:
            head = map_head_22k_to_1k(head)
            print_log('SwinTransformerV2: 22K head mapped to the 1K classes.',
                      logger='current')
        kept.update({head_prefix + k: v for k, v in head.items()})
    print_log(f'SwinTransformerV2 at {prefix!r}: {layout} checkpoint layout '
              'converted' + (f'; output norms left at init: '
                             f'{_describe(new_norms)}' if new_norms else ''),
              logger='current')
    return kept


def load_pretrained(backbone: torch.nn.Module,
                    filename: str,
                    prefix: Optional[str] = None,
                    map_location: str = 'cpu') -> str:
    """Load an official / timm / mmpretrain / visrep checkpoint into ``backbone``.

    ``prefix`` (e.g. ``'backbone.'``) selects a sub-model of the
    checkpoint; by default the known wrappers (``module.``, ``backbone.``,
    ``encoder.``) are stripped.  A classifier head in the file is ignored.
    Returns the detected layout.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    sd = unwrap(checkpoint)
    if prefix:
        sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if not sd:
            raise CheckpointMismatchError(
                f'{filename} has no keys with prefix {prefix!r}.')
    backbone_sd, _, layout = checkpoint_filter_fn(sd)
    backbone_sd = backbone.fit_checkpoint(backbone_sd)
    new_norms = match_backbone_keys(backbone, backbone_sd, filename)
    backbone.load_state_dict(backbone_sd, strict=False)
    print_log(
        f'SwinTransformerV2: loaded {filename} ({layout} layout)' +
        (f'; output norms initialised fresh: {_describe(new_norms)}'
         if new_norms else ''), logger='current')
    return layout
