"""Which layers are pruned, and each one's target sparsity and bank size.

Candidates are the modules whose class is (a subclass of) one of
``layer_types`` -- names in ``torch.nn`` (``'Linear'``, ``'Conv2d'``, ...),
so mmcv's wrappers of these classes count too.  ``include`` (default: all)
and ``exclude`` are regular expressions searched (``re.search``) in the
module name (the ``state_dict`` prefix, e.g. ``backbone.layer1.0.conv1``).

The **first and last layers** are the first and last weight layer of the
*whole model* -- a module of ``layer_types`` or of the default types
(Linear, Conv1d/2d/3d) with a weight, before ``include``/``exclude`` -- in
registration order (``model.named_modules()``): for a classifier, the stem
convolution or patch embedding and the classification layer.  They are
excluded unless ``exclude_first_last=False`` (exclude others by name with
``exclude``).

``layer_cfgs`` sets a per-layer target: ``dict(name=REGEX, sparsity=...,
bank_size=...)``, the first matching entry wins, unset fields fall back to
the global ones.  A pattern that matches no candidate is an error (a typo
would otherwise silently prune the wrong set).
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .mask import check_bank_size, check_sparsity

DEFAULT_LAYER_TYPES = ('Linear', 'Conv1d', 'Conv2d', 'Conv3d')
LAYER_CFG_KEYS = {'name', 'sparsity', 'bank_size'}


@dataclass
class PrunedLayer:
    """A selected layer: its module and target."""

    name: str
    module: nn.Module
    sparsity: float
    bank_size: int

    @property
    def param_name(self) -> str:
        return f'{self.name}.weight' if self.name else 'weight'

    @property
    def weight(self) -> torch.Tensor:
        return self.module.weight


def resolve_layer_types(names: Sequence) -> Tuple[type, ...]:
    types = []
    for name in names:
        if isinstance(name, type) and issubclass(name, nn.Module):
            types.append(name)
            continue
        cls = getattr(nn, str(name), None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise ValueError(
                f'layer_types: {name!r} is not a torch.nn module class; use '
                f'names such as {list(DEFAULT_LAYER_TYPES)}.')
        types.append(cls)
    if not types:
        raise ValueError('layer_types is empty: name at least one module '
                         'class, e.g. ("Linear", "Conv2d").')
    return tuple(types)


def _check_layer_cfg(cfg: dict) -> None:
    unknown = set(cfg) - LAYER_CFG_KEYS
    if unknown or 'name' not in cfg:
        raise ValueError(f'layer_cfgs entry {cfg}: keys are '
                         f'{sorted(LAYER_CFG_KEYS)} with name required '
                         f'(unknown: {sorted(unknown)}).')
    if 'sparsity' in cfg:
        check_sparsity(cfg['sparsity'],
                       f"layer_cfgs[{cfg['name']!r}].sparsity")
    if 'bank_size' in cfg:
        check_bank_size(cfg['bank_size'],
                        f"layer_cfgs[{cfg['name']!r}].bank_size")


def _no_match(field: str, pattern: str, names: List[str]) -> ValueError:
    shown = ', '.join(names[:8]) + (', ...' if len(names) > 8 else '')
    return ValueError(f'{field}: pattern {pattern!r} matches no prunable '
                      f'layer; the candidates are: {shown}.')


def select_layers(model: nn.Module,
                  sparsity: float,
                  bank_size: int,
                  layer_types: Sequence = DEFAULT_LAYER_TYPES,
                  include: Optional[Sequence[str]] = None,
                  exclude: Sequence[str] = (),
                  exclude_first_last: bool = True,
                  layer_cfgs: Sequence[dict] = ()
                  ) -> Tuple[List[PrunedLayer], Dict[str, str]]:
    """Selected layers, and the excluded candidates with the reason."""
    types = resolve_layer_types(layer_types)
    for cfg in layer_cfgs:
        _check_layer_cfg(cfg)
    weight_layers = [
        (n, m) for n, m in model.named_modules()
        if isinstance(m, types + resolve_layer_types(DEFAULT_LAYER_TYPES))
        and isinstance(getattr(m, 'weight', None), torch.Tensor)]
    candidates = [(n, m) for n, m in weight_layers if isinstance(m, types)]
    if not candidates:
        raise ValueError(f'the model has no module of layer_types '
                         f'{[t.__name__ for t in types]} with a weight.')
    names = [n for n, _ in candidates]
    for field, patterns in (('include', include or ()), ('exclude', exclude),
                            ('layer_cfgs', [c['name'] for c in layer_cfgs])):
        for pattern in patterns:
            if not any(re.search(pattern, n) for n in names):
                raise _no_match(field, pattern, names)

    skipped: Dict[str, str] = {}
    if exclude_first_last:
        skipped[weight_layers[0][0]] = 'first layer'
        skipped[weight_layers[-1][0]] = 'last layer'
    selected, seen = [], set()
    for name, module in candidates:
        if name in skipped:
            continue
        if include is not None and not any(re.search(p, name)
                                           for p in include):
            skipped[name] = 'not in include'
            continue
        if any(re.search(p, name) for p in exclude):
            skipped[name] = 'exclude'
            continue
        if id(module.weight) in seen:
            skipped[name] = 'shares its weight with a selected layer'
            continue
        seen.add(id(module.weight))
        cfg = next((c for c in layer_cfgs if re.search(c['name'], name)), {})
        selected.append(PrunedLayer(name, module,
                                    cfg.get('sparsity', sparsity),
                                    cfg.get('bank_size', bank_size)))
    if not selected:
        raise ValueError('no layer is left to prune after include/exclude '
                         f'and exclude_first_last; excluded: {skipped}.')
    return selected, skipped
