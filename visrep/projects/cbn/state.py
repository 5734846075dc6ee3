"""A CBN layer's window and counters in the state dict.

Kept out of ``_buffers`` on purpose: DDP never broadcasts them, so every
process keeps its own statistics (as in the paper).  A state-dict
post-hook (:func:`save_cbn_state`) adds them as plain tensors, which
torch's ``state_dict()`` and mmengine's ``get_state_dict`` (which calls
these hooks) both save; :func:`load_cbn_state` restores them.
"""
from typing import TYPE_CHECKING, Dict, List

import torch
from torch import Tensor

from .window import FIELDS

if TYPE_CHECKING:
    from .cbn import CBN

#: the layer's keys: the window's fields and (iter_count, count, head)
STATE_KEYS = tuple(f'cbn_{name}' for name in FIELDS) + ('cbn_counters', )


def save_cbn_state(module: 'CBN', state_dict: Dict[str, Tensor],
                   prefix: str, local_metadata) -> None:
    """State-dict post-hook: the window and counters as plain tensors."""
    module.settle_pending_dnu()  # a d nu still due from the backward
    for name, value in module.window.state().items():
        state_dict[prefix + f'cbn_{name}'] = value
    state_dict[prefix + 'cbn_counters'] = torch.tensor(
        [module.iter_count, module.window.count, module.window.head],
        dtype=torch.int64)


def load_cbn_state(layer: 'CBN', state_dict: Dict[str, Tensor], prefix: str,
                   unexpected_keys: List[str],
                   error_msgs: List[str]) -> None:
    """Restore ``layer``'s window and counters from ``state_dict`` (the
    rest of ``_load_from_state_dict``, after the parameters and buffers).

    A checkpoint without any of the keys (an ordinary BatchNorm one)
    leaves the layer with an empty window; one with only some of them is
    an error.
    """
    keys = [prefix + key for key in STATE_KEYS]
    for key in keys:
        if key in unexpected_keys:
            unexpected_keys.remove(key)
    present = [key in state_dict for key in keys]
    if not any(present):  # e.g. an ordinary BatchNorm checkpoint
        layer.reset_cbn_state()
        return
    if not all(present):
        error_msgs.append(
            f'{prefix[:-1]}: a CBN state needs all of {list(STATE_KEYS)}'
            f', the checkpoint has only some.')
        return
    fields = {name: state_dict[prefix + f'cbn_{name}'] for name in FIELDS}
    iter_count, count, head = (
        int(v) for v in state_dict[prefix + 'cbn_counters'])
    layer.reset_cbn_state()
    layer.iter_count = iter_count
    try:
        layer.window.load_state(
            fields, count, head, layer.weight.device
            if layer.affine else torch.device('cpu'))
    except ValueError as error:
        error_msgs.append(f'{prefix[:-1]}: {error}')
