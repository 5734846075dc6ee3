"""Checkpointed random state, so that ``--resume`` continues bit for bit."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from visrep.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves the main process's torch / NumPy / Python random states in every
    checkpoint and restores them when training resumes from it
    (``type='visrep.RNGStateHook'``).

    mmengine re-seeds dataloader workers identically each epoch but keeps
    no state of the main process, so stochastic depth or transforms run in
    the main process (``num_workers=0``) draw different numbers after
    ``--resume`` than in an unbroken run.  The states are written in
    ``before_save_checkpoint`` and put back in ``before_train`` (after
    mmengine's resume, which may re-seed), so the resumed run continues
    exactly as the unbroken one.
    """

    priority = 'LOWEST'

    def __init__(self):
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        checkpoint['rng_state'] = dict(
            torch=torch.get_rng_state(),
            numpy=(kind, torch.from_numpy(keys.astype(np.int64)), int(pos),
                   int(has_gauss), float(gauss)),
            python=random.getstate())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            self._pending = checkpoint.get('rng_state')

    def before_train(self, runner) -> None:
        state, self._pending = self._pending, None
        if state is None:
            return
        torch.set_rng_state(state['torch'])
        kind, keys, pos, has_gauss, gauss = state['numpy']
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos,
                             has_gauss, gauss))
        random.setstate(state['python'])
