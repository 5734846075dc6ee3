"""How well a checkpoint loaded by the runner matches the model, checked before it loads.

mmengine's runner loads ``load_from``, ``--resume`` and ``tools/test.py``'s
checkpoint with ``strict=False`` and only logs the keys that do not match:
a ResNet-18 checkpoint given to a SwinV2 config trains from random init,
``tools/test.py`` evaluates a random model (``accuracy/top1: 0.0``), and a
SwinV2 checkpoint missing ``logit_scale`` keeps the initial value.
:class:`CheckpointKeysHook` compares the checkpoint (after the models'
``adapt_state_dict``, exactly as it will load) with the model in
``after_load_checkpoint``, which the runner calls just before loading:

* ``strict=True`` (``tools/test.py``; ``--non-strict`` turns it off):
  any model key the checkpoint lacks or holds with another shape is an
  error naming how many and which;
* ``min_matched=MIN_MATCHED`` (``load_from`` / ``--resume`` in training):
  fewer than half of the model's keys filled is an error (the run would be
  a from-scratch run under a fine-tuning name);
* otherwise missing keys are logged as a WARNING listing them.

``num_batches_tracked`` buffers are ignored, as mmengine does.
"""
import logging
import re
from typing import Dict, List, NamedTuple

from mmengine.hooks import Hook

from .adapters import adapt_state_dict
from .key_check import CheckpointMismatchError
from .state_dict import describe_keys

#: the least share of the model's keys that ``load_from`` must fill
MIN_MATCHED = 0.5

_IGNORED = re.compile(r'(^|\.)num_batches_tracked$')


class KeyMatch(NamedTuple):
    """Which of a model's keys a state dict fills."""
    matched: List[str]
    missing: List[str]
    mismatched: List[str]  # 'key: checkpoint (..) vs model (..)'
    unexpected: List[str]


def _sized_on_load(value) -> bool:
    """A tensor the module sizes from the checkpoint when it loads: lazy
    parameters, and empty buffers such as CBN's statistics history."""
    from torch.nn.parameter import is_lazy
    return is_lazy(value) or value.numel() == 0


def match_keys(own: Dict, state_dict: Dict) -> KeyMatch:
    """Compare a model's ``state_dict()`` with a checkpoint's state dict."""
    own = {k: v for k, v in own.items() if not _IGNORED.search(k)}
    matched, missing, mismatched = [], [], []
    for key, value in own.items():
        if key not in state_dict:
            missing.append(key)
        elif not _sized_on_load(value) and \
                tuple(state_dict[key].shape) != tuple(value.shape):
            mismatched.append(f'{key}: checkpoint '
                              f'{tuple(state_dict[key].shape)} vs model '
                              f'{tuple(value.shape)}')
        else:
            matched.append(key)
    unexpected = [k for k in state_dict
                  if k not in own and not _IGNORED.search(k)]
    return KeyMatch(matched, missing, mismatched, unexpected)


def _bare_model(model):
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def checkpoint_state_dict(checkpoint: dict, model) -> Dict:
    """The state dict the runner will load: ``state_dict`` (or the bare
    dict), ``module.`` stripped as mmengine does, adapted by the model."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    state_dict = {re.sub(r'^module\.', '', k): v
                  for k, v in state_dict.items() if hasattr(v, 'shape')}
    return adapt_state_dict(model, state_dict)


def _problems(match: KeyMatch, limit: int = 10) -> str:
    parts = [f'{len(match.missing)} missing keys: '
             f'{describe_keys(match.missing, limit)}' if match.missing else '',
             f'{len(match.mismatched)} shape mismatches: '
             f'{describe_keys(match.mismatched, limit)}'
             if match.mismatched else '']
    return '; '.join(p for p in parts if p)


class CheckpointKeysHook(Hook):
    """Check the checkpoint the runner loads against the model (module doc).

    Args:
        filename: the checkpoint, for messages.
        strict: any missing or shape-mismatched key raises.
        min_matched: raise when fewer than this share of the model's keys
            is filled (0: never).
        fix: what the user can do, appended to an error.
    """

    priority = 'VERY_HIGH'

    def __init__(self, filename: str, strict: bool = False,
                 min_matched: float = MIN_MATCHED, fix: str = ''):
        if not 0 <= min_matched <= 1:
            raise ValueError(f'min_matched={min_matched!r}: a share in [0, 1]')
        self.filename = filename
        self.strict = strict
        self.min_matched = min_matched
        self.fix = fix

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = _bare_model(runner.model)
        match = match_keys(model.state_dict(),
                           checkpoint_state_dict(checkpoint, model))
        total = len(match.matched) + len(match.missing) + len(match.mismatched)
        if not match.missing and not match.mismatched:
            return
        summary = (f'{self.filename} fills {len(match.matched)} of the '
                   f'model\'s {total} keys; {_problems(match)}')
        if self.strict or len(match.matched) < self.min_matched * total:
            raise CheckpointMismatchError(
                f'{summary}. The checkpoint does not belong to this config '
                f'(or is incomplete). {self.fix}'.rstrip())
        runner.logger.log(
            logging.WARNING, f'{summary}: these keep their initial values.')
