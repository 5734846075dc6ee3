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
  a group) and ``dnu``, the latter as ``dnu / dnu_scale`` with a factor
  per entry (the weight-gradient convolution's output, unscaled: scaling
  the inner products instead saves a pass over a weight-sized tensor),
* ``<dmu, W_tau>`` and ``<dnu, W_tau>``: the weight the entry was taken at
  enters the formula only through these, so ``<d, W_t - W_tau> = <d, W_t> -
  <d, W_tau>`` needs one pass over the stored gradients per iteration and
  no weight copies.  Neither costs a pass over the weight either: with
  ``y_c = W_c . p + b_c`` (``p`` the im2col patch), ``<dmu_c, W_c> =
  mu_c - b_c`` and ``<dnu_c, W_c> = 2/M sum y_c (y_c - b_c) = 2 (var_c +
  mu_c <dmu_c, W_c>)``; ``<dmu_c, W_c>`` itself comes as one more column
  of the ``d mu`` product of the current iteration (:meth:`compensated`
  with ``new_dmu``), so the bias is never needed.

Buffered values are detached: no gradient flows into past iterations
(official code).  Storage is a ring of ``capacity`` slots, filled from the
last slot down; every step computes all filled slots and masks the ones not
in use, so the arithmetic (summation order included) depends only on the
slot layout, which the checkpoint form keeps: a resumed run is bit-exact.
The ``d nu`` inner products, which read every stored ``(C, K)`` gradient,
are elementwise products and sums (PyTorch's own reductions, no BLAS); the
``d mu`` ones are one small matrix product per group for all slots and the
new entry.
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .workspace import scratch

#: checkpoint fields: (capacity, C) statistics, the (capacity, ) factors of
#: the stored ``dnu``, (capacity, G, K) and (capacity, C, K) gradients with
#: K = Cin/G * prod(kernel)
FIELDS = ('mu', 'var', 'w_dmu', 'w_dnu', 'dnu_scale', 'dmu', 'dnu')
GRADIENTS = ('dmu', 'dnu')  # kept as one tensor per slot (no copies)


def _row_dot(a: Tensor, b: Tensor) -> Tensor:
    """``sum(a * b, -1)`` of same-shaped tensors, with PyTorch's own
    reduction; the product goes to the shared scratch buffer."""
    return torch.mul(a, b, out=scratch(a.shape, a)).sum(-1)


def _group_products(weight: Tensor, columns: Tensor) -> Tensor:
    """``<columns[g, :, j], W_c>`` for every channel ``c`` of group ``g``:
    ``weight`` ``(C, ...)``, ``columns`` ``(G, K, J)`` -> ``(J, C)``.

    Computed as ``columns^T W^T`` (a wide product with the weight as the
    right-hand side, about 2x faster than ``W columns`` on CPU BLAS).
    """
    groups, channels = columns.shape[0], weight.shape[0]
    weight = weight.detach().to(columns.dtype).reshape(
        groups, channels // groups, -1)
    products = torch.matmul(columns.transpose(1, 2), weight.transpose(1, 2))
    return products.transpose(0, 1).reshape(columns.shape[2], channels)


class StatWindow:
    """Up to ``capacity`` buffered iterations of one layer."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.count = 0
        self.head = 0  # slot of the newest entry
        self.slots: Dict[str, object] = dict.fromkeys(FIELDS)
        self._weights_key: Optional[tuple] = None  # in_use_weights cache
        self._weights: Optional[Tensor] = None

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
             dnu: Optional[Tensor] = None, weight: Optional[Tensor] = None,
             w_dmu: Optional[Tensor] = None,
             dnu_scale: float = 1.0) -> None:
        """Add the current iteration (the oldest entry drops out when full).

        ``dmu``: ``(G, ...)`` and ``dnu``: ``(C, ...)``, or both None (naive
        CBN, or a frozen conv: no Taylor term).  With gradients, give
        ``w_dmu = <dmu, W>`` per channel (the third value of
        :meth:`compensated`) or the ``weight`` ``W`` the entry was taken at
        (the weight as the convolution used it).  ``dnu_scale``: the
        factor that turns the given ``dnu`` into ``d nu / dW``.
        """
        if self.capacity == 0:
            return
        channels = mu.shape[0]
        entry = dict(mu=mu, var=var)
        if dnu is not None:
            groups = dmu.shape[0]
            dmu = dmu.reshape(groups, -1)
            if w_dmu is None:
                w_dmu = _group_products(weight, dmu.unsqueeze(-1))[0]
            entry.update(dmu=dmu, dnu=dnu.reshape(channels, -1), w_dmu=w_dmu,
                         w_dnu=torch.addcmul(var, mu, w_dmu).mul_(2),
                         dnu_scale=dnu_scale)
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
            if not isinstance(value, Tensor):  # a number per entry
                continue
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
            elif not isinstance(value, Tensor):  # a number per entry
                self.slots[name] = entry['mu'].new_zeros(self.capacity)
            else:
                # zeros: slots not yet filled are masked out, but finite
                self.slots[name] = value.new_zeros((self.capacity, ) +
                                                   tuple(value.shape))

    def evicted_dnu(self) -> Optional[Tensor]:
        """The stored ``dnu`` that the next :meth:`push` drops (the oldest
        entry of a full window), to be overwritten with the new one; None
        while the window is filling."""
        if self.count < self.capacity or self.slots['dnu'] is None:
            return None
        return self.slots['dnu'][(self.head - 1) % self.capacity]

    def in_use_weights(self, n: int, like: Tensor) -> Tensor:
        """:meth:`in_use` as 0/1 weights of ``like``'s dtype, ``(capacity,
        1)``; cached until the window changes."""
        key = (n, self.count, self.head, like.dtype, like.device)
        if self._weights_key != key:
            self._weights = self.in_use(n).to(like.dtype).unsqueeze(1)
            self._weights_key = key
        return self._weights

    def in_use(self, n: int) -> Tensor:
        """Mask of the slots holding the newest ``min(n, count)`` entries."""
        device = self.slots['mu'].device
        age = (torch.arange(self.capacity, device=device) -
               self.head) % self.capacity
        return age < min(n, self.count)

    def compensated(self, weight: Optional[Tensor], rho: float,
                    new_dmu: Optional[Tensor] = None
                    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """``mu`` and ``var`` of every slot at ``weight``: ``(capacity, C)``,
        and ``<new_dmu, weight>`` per channel (``(C,)``, None without
        ``new_dmu``): the current iteration's ``w_dmu`` for :meth:`push`.

        Use :meth:`in_use` to pick the valid slots (empty ones hold zeros).
        With ``rho == 0``, no stored gradients or no weight they are the
        stored values.
        """
        mu, var = self.slots['mu'], self.slots['var']
        if weight is None or (new_dmu is None and (
                rho == 0 or self.slots['dnu'] is None)):
            return mu, var, None
        channels = mu.shape[1]
        weight = weight.detach().to(mu.dtype).reshape(channels, -1)
        stored = self.slots['dmu'] if self.slots['dnu'] is not None else ()
        dmus = list(stored)
        if new_dmu is not None:
            dmus.append(new_dmu.reshape(new_dmu.shape[0], -1))
        filled = next(t for t in dmus if t is not None)
        # <dmu[group(c)], W_t[c]> of every slot (and the new entry): one
        # (C/G, K) x (K, slots) product per group
        products = _group_products(weight, torch.stack(
            [torch.zeros_like(filled) if t is None else t for t in dmus],
            -1))
        new_w_dmu = products[-1] if new_dmu is not None else None
        if rho == 0 or not stored:
            return mu, var, new_w_dmu
        empty = mu.new_zeros(channels)
        d_nu = torch.stack([empty if dnu is None else _row_dot(dnu, weight)
                            for dnu in self.slots['dnu']])
        d_mu = products[:self.capacity].sub_(self.slots['w_dmu'])
        d_nu = d_nu.mul_(self.slots['dnu_scale'][:, None]).sub_(
            self.slots['w_dnu'])
        if rho != 1:
            d_mu.mul_(rho)
            d_nu.mul_(rho)
        new_mu = mu + d_mu
        # var + d_nu - (2 mu + d_mu) d_mu
        return new_mu, torch.addcmul(var + d_nu, mu + new_mu, d_mu,
                                     value=-1), new_w_dmu

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
