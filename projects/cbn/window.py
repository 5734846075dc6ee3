"""The statistics of the last k-1 iterations of one CBN layer (Yao et al.).

For a buffered iteration ``tau`` the compensated statistics at the current
weight ``W_t`` of the bound convolution are, to first order (the paper's
Taylor compensation)::

    mu_tau(W_t) = mu_tau + rho * <dmu_tau, W_t - W_tau>
    nu_tau(W_t) = nu_tau + rho * <dnu_tau, W_t - W_tau>

with ``dmu = d mu/dW`` and ``dnu = d nu/dW`` taken at ``tau``, ``nu = E[x^2]``,
inner products per output channel.  The window keeps, per entry and channel:

* ``mu`` and ``var``: the batch mean and biased variance (``nu = var +
  mu^2``; the variance is kept instead of ``nu`` to avoid the cancellation of
  ``E[x^2] - mu^2`` in fp32; the compensated variance is ``var + d_nu -
  2 mu d_mu - d_mu^2`` for the Taylor terms ``d_mu, d_nu``),
* ``dmu`` (once per conv group: it is the same for every output channel of
  a group) and ``dnu``,
* ``<dmu, W_tau>`` and ``<dnu, W_tau>``: the weight the entry was taken at
  enters the formula only through these, so ``<d, W_t - W_tau> = <d, W_t> -
  <d, W_tau>`` needs one pass over the stored gradients per iteration and
  no weight copies.

Buffered values are detached: no gradient flows into past iterations
(official code).  Storage is a ring of ``capacity`` slots, filled from the
last slot down; every step computes all filled slots and masks the ones not
in use, so the arithmetic (summation order included) depends only on the
slot layout, which the checkpoint form keeps: a resumed run is bit-exact.
The ``d nu`` inner products, which read every stored ``(C, K)`` gradient,
are elementwise products and sums (PyTorch's own reductions, no BLAS); the
``d mu`` ones are one small matrix product per group for all slots.
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

#: checkpoint fields: (capacity, C) statistics, (capacity, G, K) and
#: (capacity, C, K) gradients with K = Cin/G * prod(kernel)
FIELDS = ('mu', 'var', 'w_dmu', 'w_dnu', 'dmu', 'dnu')
GRADIENTS = ('dmu', 'dnu')  # kept as one tensor per slot (no copies)


def _row_dot(a: Tensor, b: Tensor) -> Tensor:
    """``sum(a * b, -1)``, broadcasting, with PyTorch's own reduction."""
    return (a * b).sum(-1)


class StatWindow:
    """Up to ``capacity`` buffered iterations of one layer."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.count = 0
        self.head = 0  # slot of the newest entry
        self.slots: Dict[str, object] = dict.fromkeys(FIELDS)

    def __len__(self) -> int:
        return self.count

    def clear(self) -> None:
        self.count = 0
        self.head = 0
        self.slots = dict.fromkeys(FIELDS)

    def tensors(self) -> List[Tensor]:
        """Every tensor the window holds (e.g. for memory accounting)."""
        found = []
        for name, slot in self.slots.items():
            if name in GRADIENTS and slot is not None:
                found += [t for t in slot if t is not None]
            elif slot is not None:
                found.append(slot)
        return found

    @property
    def kernel_size(self) -> Optional[int]:
        """``K`` (weight elements per output channel) of the stored gradients."""
        for dnu in self.slots['dnu'] or ():
            if dnu is not None:
                return dnu.shape[-1]
        return None

    def push(self, mu: Tensor, var: Tensor, dmu: Optional[Tensor] = None,
             dnu: Optional[Tensor] = None,
             weight: Optional[Tensor] = None) -> None:
        """Add the current iteration (the oldest entry drops out when full).

        ``dmu``: ``(G, ...)``, ``dnu`` and ``weight``: ``(C, ...)``, or all
        None (naive CBN, or a frozen conv: no Taylor term).
        """
        if self.capacity == 0:
            return
        channels = mu.shape[0]
        entry = dict(mu=mu, var=var)
        if dnu is not None:
            groups = dmu.shape[0]
            dmu = dmu.reshape(groups, -1)
            dnu = dnu.reshape(channels, -1)
            weight = weight.detach().to(dnu.dtype).reshape(channels, -1)
            entry.update(
                dmu=dmu, dnu=dnu, w_dnu=_row_dot(dnu, weight),
                w_dmu=torch.matmul(
                    weight.view(groups, channels // groups, -1),
                    dmu.unsqueeze(-1)).view(channels))
        if self._layout_changed(entry):
            self._allocate(entry)
        self.head = (self.head - 1) % self.capacity
        for name, value in entry.items():
            self.slots[name][self.head] = value  # a list item or a row
        self.count = min(self.count + 1, self.capacity)

    def _layout_changed(self, entry: Dict[str, Tensor]) -> bool:
        if set(entry) != {n for n, s in self.slots.items() if s is not None}:
            return True
        for name, value in entry.items():
            slot = self.slots[name]
            if name in GRADIENTS:
                slot = next(t for t in slot if t is not None)
                shape = slot.shape
            else:
                shape = slot.shape[1:]
            if (tuple(shape) != tuple(value.shape) or slot.dtype != value.dtype
                    or slot.device != value.device):
                return True
        return False

    def _allocate(self, entry: Dict[str, Tensor]) -> None:
        self.clear()
        for name, value in entry.items():
            if name in GRADIENTS:
                self.slots[name] = [None] * self.capacity
            else:
                # zeros: slots not yet filled are masked out, but finite
                self.slots[name] = value.new_zeros((self.capacity, ) +
                                                   tuple(value.shape))

    def in_use(self, n: int) -> Tensor:
        """Mask of the slots holding the newest ``min(n, count)`` entries."""
        device = self.slots['mu'].device
        age = (torch.arange(self.capacity, device=device) -
               self.head) % self.capacity
        return age < min(n, self.count)

    def compensated(self, weight: Optional[Tensor],
                    rho: float) -> Tuple[Tensor, Tensor]:
        """``mu`` and ``var`` of every slot at ``weight``: ``(capacity, C)``.

        Use :meth:`in_use` to pick the valid ones (empty slots hold zeros).
        With ``rho == 0``, no stored gradients or no weight they are the
        stored values.
        """
        mu, var = self.slots['mu'], self.slots['var']
        if rho == 0 or self.slots['dnu'] is None or weight is None:
            return mu, var
        channels = mu.shape[1]
        weight = weight.detach().to(mu.dtype).reshape(channels, -1)
        d_nu = torch.zeros_like(mu)
        dmus = []
        for slot, (dmu, dnu) in enumerate(
                zip(self.slots['dmu'], self.slots['dnu'])):
            if dnu is not None:
                d_nu[slot] = _row_dot(dnu, weight)
            dmus.append(dmu)
        filled = next(t for t in dmus if t is not None)
        groups = filled.shape[0]
        # <dmu[group(c)], W_t[c]> of every slot: one (C/G, K) x (K, cap)
        # product per group
        dmus = torch.stack([torch.zeros_like(filled) if t is None else t
                            for t in dmus], -1)
        d_mu = torch.matmul(weight.view(groups, channels // groups, -1),
                            dmus)
        d_mu = d_mu.permute(2, 0, 1).reshape(self.capacity, channels)
        d_mu = rho * (d_mu - self.slots['w_dmu'])
        d_nu = rho * (d_nu - self.slots['w_dnu'])
        return mu + d_mu, var + d_nu - (2 * mu + d_mu) * d_mu

    def apply(self, fn: Callable[[Tensor], Tensor]) -> None:
        """Apply a tensor conversion (``Module._apply``'s ``fn``)."""
        for name, slot in self.slots.items():
            if name in GRADIENTS and slot is not None:
                self.slots[name] = [None if t is None else fn(t) for t in slot]
            elif slot is not None:
                self.slots[name] = fn(slot)

    # checkpoint form: (capacity, ...) tensors in slot order, plus the
    # count and head kept by the layer
    def state(self) -> Dict[str, Tensor]:
        state = {}
        for name, slot in self.slots.items():
            if slot is None:
                state[name] = torch.empty(0)
            elif name in GRADIENTS:
                filled = next(t for t in slot if t is not None)
                state[name] = torch.stack([
                    torch.zeros_like(filled) if t is None else t
                    for t in slot
                ])
            else:
                state[name] = slot.clone()
        return state

    def load_state(self, state: Dict[str, Tensor], count: int, head: int,
                   device: torch.device) -> None:
        self.clear()
        if count == 0:
            return
        capacity = state['mu'].shape[0]
        if capacity != self.capacity:
            raise ValueError(
                f'a CBN state with a window of {capacity} past iterations '
                f'cannot be loaded into a layer with buffer_num='
                f'{self.capacity}; set buffer_num={capacity}.')
        age = [(slot - head) % capacity for slot in range(capacity)]
        for name in FIELDS:
            value = state[name]
            if value.numel() == 0:
                continue
            value = value.to(device)
            if name in GRADIENTS:
                self.slots[name] = [
                    t.clone() if a < count else None
                    for t, a in zip(value.unbind(0), age)
                ]
            else:
                self.slots[name] = value.clone()
        self.count, self.head = count, head
