"""``adapt_state_dict`` for a backbone with one official and one visrep layout.

Swin V1 and SimMIM's ViT read the same kinds of files: their own
checkpoints, official releases, and self-supervised pre-training files that
keep the encoder behind a wrapper prefix.  Each passes its key patterns and
converters; the search, the check and the placing of the keys are here.
"""
import re
from typing import Callable

from mmengine.logging import print_log
from torch import nn

from .key_check import check_keys
from .layout import VISREP_LAYOUT, find_backbone, head_prefix
from .state_dict import StateDict, sub_state_dict, unwrap

#: ``fit(state_dict) -> state_dict`` made to fit the model (tables resized,
#: derived buffers refreshed); the same object when nothing changes
Fit = Callable[[StateDict], StateDict]


def adapt_backbone_state_dict(backbone: nn.Module, state_dict: dict,
                              prefix: str, visrep: re.Pattern,
                              official: re.Pattern,
                              from_official: Callable[[StateDict], StateDict],
                              fit: Fit) -> dict:
    """``adapt_state_dict`` of a backbone (see :mod:`.adapters`).

    ``visrep`` / ``official`` match a block key of each layout.

    * Keys under ``prefix`` in the visrep layout: tables resized / derived
      buffers refreshed by ``fit``; untouched (the same object) when they
      fit.
    * Otherwise a backbone in the official or the visrep layout anywhere
      behind the known wrappers (``encoder.`` of SimMIM/MoBY releases,
      ``module.``, ``backbone.`` of pre-training checkpoints) is converted,
      fitted, checked key by key (a mismatch is an error listing the keys)
      and placed under ``prefix``; the rest of the file is dropped (an
      official classifier head goes beside the backbone as ``head.fc``).
    """
    inner = unwrap(state_dict)
    under = sub_state_dict(inner, prefix)
    owner = type(backbone).__name__
    if any(visrep.match(k) for k in under):
        fitted = fit(under)
        if fitted is under and inner is state_dict:
            return state_dict
        kept = {k: v for k, v in inner.items() if not k.startswith(prefix)}
        kept.update({prefix + k: v for k, v in fitted.items()})
        return kept
    found = find_backbone(inner, (visrep, official))
    if found is None:
        return state_dict
    sub, where = found
    layout = VISREP_LAYOUT if any(visrep.match(k) for k in sub) \
        else 'official'
    converted = from_official(sub) if layout == 'official' else dict(sub)
    head = {k[len('head.'):]: v for k, v in converted.items()
            if k.startswith('head.')}
    converted = fit({k: v for k, v in converted.items()
                     if not k.startswith('head.')})
    fresh = check_keys(
        backbone.state_dict(), converted,
        f'checkpoint ({layout} layout at {where!r})', f'{owner} backbone',
        'Check the arch (embed_dims, depths, window) and that the file holds '
        'this kind of backbone.', limit=12)
    out = {prefix + k: v for k, v in converted.items()}
    if head and prefix:
        out.update({head_prefix(prefix) + k: v for k, v in head.items()})
    dropped = [k for k in inner if not k.startswith(where)]
    print_log(
        f'{owner} at {prefix!r}: {layout} backbone found under {where!r} '
        'and converted' + (f'; output norms left at init: {fresh}'
                           if fresh else '') +
        (f'; {len(dropped)} other entries ignored' if dropped else ''),
        logger='current')
    return out
