"""A pruned training checkpoint -> a sparse inference checkpoint + report.

The exported file is an mmengine checkpoint that ``tools/test.py`` and
``load_from`` read as usual: ``state_dict`` (the pruned weights, exactly zero
where masked; optimizer, scheduler and message-hub state dropped),
``balanced_sparsity`` (the hook's masks, so fine-tuning from it keeps them)
and ``meta.balanced_sparsity_report`` (per layer: shape, bank size, banks per
row, distinct kept counts per bank, sparsity, balanced or not).

Masks come from the checkpoint (``BalancedSparsityHook`` writes them); a
checkpoint pruned elsewhere can be read with ``bank_size`` (and optional
``layers`` patterns): its masks are then its non-zero entries.
"""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .hook import CHECKPOINT_KEY, STATE_VERSION
from .report import layer_report, total_sparsity


class ExportError(ValueError):
    """The checkpoint cannot be exported as balanced sparse."""


def masks_from_zeros(state_dict: Dict[str, torch.Tensor], bank_size: int,
                     layers: Optional[Sequence[str]] = None
                     ) -> Dict[str, torch.Tensor]:
    """Keep-masks = non-zero entries of the matching >= 2-D ``*.weight``."""
    masks = {}
    for name, value in state_dict.items():
        if not (name.endswith('weight') and torch.is_tensor(value)
                and value.dim() >= 2 and value.is_floating_point()):
            continue
        if layers and not any(re.search(p, name) for p in layers):
            continue
        if (value == 0).any():
            masks[name] = value != 0
    if not masks:
        raise ExportError('no weight matching the layer patterns holds zeros:'
                          ' the checkpoint is not pruned.')
    return masks


def export_sparse(checkpoint: dict,
                  bank_size: Optional[int] = None,
                  layers: Optional[Sequence[str]] = None
                  ) -> Tuple[dict, List[dict]]:
    """The exported checkpoint and its per-layer report."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    state = checkpoint.get(CHECKPOINT_KEY)
    if state is not None and state.get('masks'):
        masks = state['masks']
        banks = dict(state.get('bank_size', {}))
        if layers:
            masks = {n: m for n, m in masks.items()
                     if any(re.search(p, n) for p in layers)}
    elif bank_size is None:
        raise ExportError(
            f"the checkpoint has no '{CHECKPOINT_KEY}' masks (it was not "
            'written by visrep.BalancedSparsityHook): give --bank-size to '
            'take the masks from the zeros of its weights.')
    else:
        masks = masks_from_zeros(state_dict, bank_size, layers)
        banks = {}
    missing = sorted(set(masks) - set(state_dict))
    if missing:
        raise ExportError(f'masks of weights the state_dict lacks: {missing}')

    pruned_state = dict(state_dict)
    reports = []
    for name, keep in masks.items():
        bank = banks.get(name, bank_size)
        if bank is None:
            raise ExportError(
                f'{name}: no bank size stored; give --bank-size.')
        weight = state_dict[name]
        report = layer_report(name[:-len('.weight')] if name.endswith(
            '.weight') else name, keep, bank, weight)
        reports.append(report)
        pruned_state[name] = weight.masked_fill(~keep.to(weight.device), 0)
    exported = dict(
        meta=dict(checkpoint.get('meta', {}),
                  balanced_sparsity_report=reports,
                  balanced_sparsity_total=total_sparsity(masks)),
        state_dict=pruned_state,
    )
    exported[CHECKPOINT_KEY] = dict(
        version=STATE_VERSION, masks=masks,
        sparsity={n: r['sparsity'] for n, r in zip(masks, reports)},
        bank_size={n: r['bank_size'] for n, r in zip(masks, reports)},
        n_m=(state or {}).get('n_m'))
    return exported, reports
