"""The key-by-key check of a converted checkpoint against a model, and its error.

mmengine loads with ``strict=False`` and only logs what does not match, so
a checkpoint of the wrong arch or kind would load as nothing; converters
check the keys themselves and raise, naming them.
"""
import re
from typing import List

from .state_dict import StateDict, describe_keys

#: per-output norms a backbone may have and a checkpoint may lack: a
#: classification checkpoint has only the last one, a detection backbone
#: outputs every stage
OUTPUT_NORM = re.compile(r'norm\d\.')


class CheckpointMismatchError(ValueError):
    """Keys of a checkpoint and a model do not match; the message lists them."""


def check_keys(own: StateDict, state_dict: StateDict, source: str,
               target: str, hint: str, limit: int = 20) -> List[str]:
    """Check ``state_dict`` against a model's ``own``; return keys left at init.

    Unexpected keys, shape mismatches and missing keys raise
    :class:`CheckpointMismatchError` listing them, as ``'{source} does not
    match the {target}: <problems>. {hint}'`` -- except missing output norms
    (:data:`OUTPUT_NORM`), which keep their initial values and are returned.
    """
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state_dict.items() if k in own and v.shape != own[k].shape
    ]
    missing = [k for k in own if k not in state_dict]
    fresh = [k for k in missing if OUTPUT_NORM.match(k)]
    missing = [k for k in missing if k not in fresh]
    problems = [f'{name}: {describe_keys(keys, limit)}' for name, keys in (
        ('unexpected keys', unexpected), ('missing keys', missing),
        ('shape mismatches', mismatched)) if keys]
    if problems:
        raise CheckpointMismatchError(
            f'{source} does not match the {target}: ' + '; '.join(problems) +
            f'. {hint}')
    return fresh
