"""State dicts as checkpoints hold them: the wrapper, sub-dicts, key lists."""
from typing import Dict, Iterable

import torch

#: parameter and buffer names -> tensors, as ``nn.Module.state_dict`` gives
StateDict = Dict[str, torch.Tensor]


def unwrap(checkpoint: dict) -> dict:
    """The state dict inside ``{'model': ...}`` / ``{'state_dict': ...}``.

    Official releases wrap it in ``model``, mmengine in ``state_dict``; a
    bare state dict is returned as it is.
    """
    for key in ('model', 'state_dict'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def sub_state_dict(state_dict: dict, prefix: str) -> dict:
    """The entries under ``prefix``, with the prefix removed."""
    return {k[len(prefix):]: v for k, v in state_dict.items()
            if k.startswith(prefix)}


def describe_keys(keys: Iterable[str], limit: int = 20) -> str:
    """The first ``limit`` keys, sorted, and how many more: for messages."""
    keys = sorted(keys)
    more = f' (+{len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more
