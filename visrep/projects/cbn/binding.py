"""Naming CBN layers and reporting the ones that cannot be bound, all at once.

A CBN finds its convolution by itself (:mod:`.conv_call`); what it cannot
know is its own name in the model, and a model with several misplaced CBN
layers should get one error listing all of them, not one per run.  While
some CBN layer has not yet seen a training forward, a process-wide pair of
module hooks (PyTorch's ``register_module_forward_pre_hook`` /
``register_module_forward_hook``) watches the outermost module call (the
"root": the detector, classifier, ...): on entry it names the watched CBN
layers after their path in the root, during the call the layers report
failures here instead of raising, and on exit it raises one
:class:`CBNBindingError` for all of them.  After the first training forward
of a root its layers are settled and, once no layer is watched any more,
the hooks are removed: they cost nothing afterwards.
"""
import sys
import weakref
from collections import Counter
from typing import List, Optional, Tuple

from mmengine.logging import print_log
from torch import nn
from torch.nn.modules.module import (register_module_forward_hook,
                                     register_module_forward_pre_hook)

FIX = ('Fix: put the convolution right before each of these layers (mmcv '
       "ConvModule: order=('conv', 'norm', 'act')), or use naive CBN without "
       'compensation for them (rho=0, which needs no convolution), or '
       'another norm_cfg there.')


class CBNBindingError(RuntimeError):
    """A CBN layer whose input is not the output of a convolution."""


def binding_message(failures: List[Tuple[str, str]]) -> str:
    lines = '\n'.join(f'  - {name}: its input {reason}'
                      for name, reason in failures)
    return (f'visrep.CBN compensates the batch statistics of past iterations '
            f'with the weight change of the convolution that produces its '
            f'input, but {len(failures)} layer(s) have no such convolution:\n'
            f'{lines}\n{FIX}')


def layer_name(layer: nn.Module) -> str:
    return getattr(layer, '_cbn_name', None) or (
        f'{type(layer).__name__}({getattr(layer, "num_features", "?")})')


class BindingTracker:
    """The process-wide watcher (one instance, :data:`TRACKER`)."""

    def __init__(self):
        self._watched = weakref.WeakSet()
        self._handles = None
        self._depth = 0
        self._root: Optional[nn.Module] = None
        self._failures: List[Tuple[nn.Module, str]] = []
        self._calls: Counter = Counter()

    @property
    def active(self) -> bool:
        return self._handles is not None

    def watch(self, layer: nn.Module) -> None:
        """Name ``layer`` and collect its failures at the next root call."""
        self._watched.add(layer)
        if self._handles is None:
            self._handles = (
                register_module_forward_pre_hook(self._enter),
                register_module_forward_hook(self._leave, always_call=True))

    def _remove_hooks(self) -> None:
        if self._handles is not None:
            for handle in self._handles:
                handle.remove()
        self._handles = None
        self._depth = 0
        self._root = None

    def _enter(self, module: nn.Module, args) -> None:
        if self._depth == 0:
            if not self._watched:
                self._remove_hooks()
                return
            self._root, self._failures = module, []
            self._calls = Counter()
            for name, child in module.named_modules():
                if child in self._watched:
                    child._cbn_name = name or type(module).__name__
        self._depth += 1

    def _leave(self, module: nn.Module, args, output) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth > 0 or module is not self._root:
            return
        root, failures, calls = self._root, self._failures, self._calls
        self._root, self._failures, self._calls = None, [], Counter()
        if sys.exc_info()[0] is not None:
            return  # the forward failed already: let that error through
        if root.training:
            for child in root.modules():
                self._watched.discard(child)
        for layer, times in calls.items():
            if times > 1:
                print_log(
                    f'visrep.CBN {layer_name(layer)} ran {times} times in one '
                    'forward (a shared layer): as in the official code, '
                    'every call is one step of its window and of its '
                    'burn-in count, so its window spans calls, not '
                    'iterations.', logger='current', level=30)
        if not self._watched:
            self._remove_hooks()
        if failures:
            raise CBNBindingError(
                binding_message([(layer_name(layer), reason)
                                 for layer, reason in failures]))

    def count_call(self, layer: nn.Module) -> None:
        if self._root is not None:
            self._calls[layer] += 1

    def report(self, layer: nn.Module, reason: str) -> None:
        """Collect a failure for the current root call, or raise now."""
        if self._root is None:
            raise CBNBindingError(binding_message([(layer_name(layer),
                                                    reason)]))
        if all(layer is not seen for seen, _ in self._failures):
            self._failures.append((layer, reason))


TRACKER = BindingTracker()
