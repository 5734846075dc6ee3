"""Keep pruned weights at exactly zero through training.

Three mechanisms, each sufficient for plain SGD, together for everything
else:

1. **Gradient mask** -- a tensor hook on every pruned weight zeroes the
   gradient of pruned entries *during backward*, before it is accumulated
   into ``.grad``: DDP all-reduces the masked gradient, gradient clipping
   measures only live weights, AMP's inf/NaN check and unscaling see zeros
   (``masked_fill``, so an ``inf`` in a pruned entry becomes 0, not NaN).
2. **Optimizer-state mask** -- when a mask changes, the entries of every
   optimizer state tensor shaped like the weight (SGD momentum, Adam's
   ``exp_avg``/``exp_avg_sq``, ...) and of ``.grad`` are zeroed.  With a
   zero gradient and zero state, SGD(+momentum, +L2), Adam(W) (decoupled
   decay of a zero weight is zero), RMSprop, Adagrad, ... leave a zero
   weight at zero.
3. **Weight mask after every optimizer step** -- an optimizer step
   post-hook re-zeroes pruned weights right after ``optimizer.step()``
   (before any mmengine hook, e.g. EMA or checkpointing, sees them), for
   optimizers that could still move them.  ``reapply='auto'`` installs it
   for every optimizer except the ``torch.optim`` classes listed in
   :data:`ZERO_PRESERVING` (exact class, not subclasses), whose update of
   an entry with zero gradient and zero state is zero by construction --
   it would only repeat 1. and 2. at the cost of another pass over the
   weights; ``True`` installs it always, ``False`` never.
"""
from functools import partial
from typing import Dict, Iterable, List, Union

import torch
from torch import Tensor, nn

#: optimizers whose step leaves an entry with zero gradient and zero state
#: (any state tensor shaped like the weight) at zero, whatever their options
#: (momentum, nesterov, L2 or decoupled weight decay, amsgrad, maximize)
ZERO_PRESERVING = tuple(
    getattr(torch.optim, name) for name in
    ('SGD', 'Adam', 'AdamW', 'Adamax', 'NAdam', 'RAdam', 'RMSprop',
     'Adagrad', 'Adadelta', 'ASGD') if hasattr(torch.optim, name))


class MaskKeeper:
    """The keep-masks of the pruned weights, and their enforcement."""

    def __init__(self):
        self.params: Dict[str, nn.Parameter] = {}
        self.pruned: Dict[str, Tensor] = {}  # True = pruned
        self._handles: List = []

    def set_mask(self, name: str, param: nn.Parameter, keep: Tensor) -> None:
        if keep.shape != param.shape:
            raise ValueError(f'{name}: mask shape {tuple(keep.shape)} does '
                             f'not match the weight {tuple(param.shape)}.')
        self.params[name] = param
        self.pruned[name] = ~keep.to(device=param.device, dtype=torch.bool)

    def keep_mask(self, name: str) -> Tensor:
        return ~self.pruned[name]

    @torch.no_grad()
    def apply(self, names: Iterable[str] = None) -> None:
        """Zero the pruned entries of the weights (and of their ``.grad``)."""
        for name in self.params if names is None else names:
            param, pruned = self.params[name], self.pruned[name]
            param.masked_fill_(pruned, 0)
            if param.grad is not None:
                param.grad.masked_fill_(pruned, 0)

    @torch.no_grad()
    def apply_to(self, tensors: Dict[str, Tensor]) -> None:
        """Zero pruned entries of same-named copies (e.g. EMA weights)."""
        for name, pruned in self.pruned.items():
            tensor = tensors.get(name)
            if tensor is not None:
                tensor.masked_fill_(pruned.to(tensor.device), 0)

    @torch.no_grad()
    def zero_optimizer_state(self, optimizers: Iterable) -> None:
        for optimizer in optimizers:
            for name, param in self.params.items():
                for value in optimizer.state.get(param, {}).values():
                    if torch.is_tensor(value) and value.shape == param.shape:
                        value.masked_fill_(self.pruned[name], 0)

    def _mask_grad(self, name: str, grad: Tensor) -> Tensor:
        return grad.masked_fill(self.pruned[name], 0)

    def _after_step(self, names: List[str], optimizer, args, kwargs) -> None:
        self.apply(names)

    def attach(self, optimizers: Iterable,
               reapply: Union[bool, str] = 'auto') -> List:
        """Install the gradient hooks and the step post-hooks; returns the
        optimizers that got a post-hook."""
        if reapply not in (True, False, 'auto'):
            raise ValueError(f"reapply_after_step={reapply!r}: use True, "
                             "False or 'auto'.")
        self.detach()
        for name, param in self.params.items():
            self._handles.append(
                param.register_hook(partial(self._mask_grad, name)))
        hooked = []
        for optimizer in optimizers:
            if reapply is False or (reapply == 'auto' and type(optimizer)
                                    in ZERO_PRESERVING):
                continue
            owned = {id(p) for group in optimizer.param_groups
                     for p in group['params']}
            names = [n for n, p in self.params.items() if id(p) in owned]
            if names:
                self._handles.append(optimizer.register_step_post_hook(
                    partial(self._after_step, names)))
                hooked.append(optimizer)
        return hooked

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def state_dict(self) -> Dict[str, Tensor]:
        """Keep-masks on CPU, by parameter name."""
        return {n: (~p).cpu() for n, p in self.pruned.items()}
