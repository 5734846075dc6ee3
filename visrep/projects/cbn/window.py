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
  mu_c <dmu_c, W_c>)``; ``<dmu_c, W_c>`` itself comes as one more row of
  the ``d mu`` products of the current iteration (:meth:`weight_products`
  with ``new_dmu``), so the bias is never needed.

Buffered values are detached: no gradient flows into past iterations
(official code).  Storage is a ring of ``capacity`` slots, filled from the
last slot down; the per-channel values of a slot are one row of a packed
``(capacity, fields, C)`` table and the ``dnu`` of all slots one
``(capacity, C, K)`` tensor, so that storing an entry is one copy and the
inner products of all slots are one product and one sum.  Every step
computes all slots and masks the ones not in use, so the arithmetic
(summation order included) depends only on the slot layout, which the
checkpoint form keeps: a resumed run is bit-exact.

A step is split for the layer (:mod:`.cbn`): the weight-sized work
(:meth:`weight_products`, :meth:`weight_dots`), then the per-channel
arithmetic (:meth:`compensate`, :meth:`write_row`), which only reads and
writes tensors that stay in place from step to step (so it can be replayed
as a CUDA graph, :mod:`.fast.cuda_graph`), then :meth:`commit` (the ring
pointer, in Python).
"""
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .fast.gpu_routes import slot_dots
from .fast.workspace import scratch
from .precision import cast

#: checkpoint fields: (capacity, C) statistics, the (capacity, ) factors of
#: the stored ``dnu``, (capacity, G, K) and (capacity, C, K) gradients with
#: K = Cin/G * prod(kernel)
FIELDS = ('mu', 'var', 'w_dmu', 'w_dnu', 'dnu_scale', 'dmu', 'dnu')
STAT_FIELDS = ('mu', 'var', 'w_dmu', 'w_dnu')  # rows of the packed table


def _stack_slots(slots: List[Optional[Tensor]]) -> Tensor:
    """Per-slot tensors as one ``(slots, ...)`` tensor, zeros for the empty
    slots (at least one is filled)."""
    filled = next(t for t in slots if t is not None)
    return torch.stack(
        [torch.zeros_like(filled) if t is None else t for t in slots])


def _group_products(weight: Tensor, rows: Tensor,
                    out: Optional[Tensor] = None) -> Tensor:
    """``<rows[j, g], W_c>`` for every channel ``c`` of group ``g``:
    ``weight`` ``(C, ...)``, ``rows`` ``(J, G, K)`` -> ``(J, C)`` (a view of
    ``out``, ``(C, J)``, when given).

    Computed as ``(W rows^T)^T``: the large weight as the left-hand side
    of a narrow product, read once in its own layout.
    """
    groups, channels = rows.shape[1], weight.shape[0]
    weight = cast(weight.detach(), rows.dtype)
    if groups == 1:
        return torch.mm(weight.view(channels, -1),
                        rows.view(rows.shape[0], -1).t(), out=out).t()
    weight = weight.reshape(groups, channels // groups, -1)
    products = torch.matmul(weight, rows.permute(1, 2, 0))  # (G, C/G, J)
    products = products.reshape(channels, rows.shape[0])
    if out is not None:
        products = out.copy_(products)
    return products.t()


class StatWindow:
    """Up to ``capacity`` buffered iterations of one layer."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.count = 0
        self.head = 0  # slot of the newest entry
        self.clear()

    def __len__(self) -> int:
        return self.count

    def clear(self) -> None:
        self.count = 0
        self.head = 0
        # rows 'mu', 'var' (+ 'w_dmu', 'w_dnu' with gradients) per slot
        self.stats: Optional[Tensor] = None
        self.dnu_scale: Optional[Tensor] = None  # (capacity, 1)
        self.dmu: Optional[List[Optional[Tensor]]] = None  # (G, K) each
        self.dnu: Optional[Tensor] = None  # (capacity, C, K), zeros if empty
        self._weights: Dict[tuple, Tensor] = {}  # in_use_weights cache

    def tensors(self) -> List[Tensor]:
        """Every tensor the window holds (e.g. for memory accounting)."""
        found = [t for t in (self.stats, self.dnu_scale, self.dnu)
                 if t is not None]
        return found + [t for t in self.dmu or () if t is not None]

    @property
    def kernel_size(self) -> Optional[int]:
        """The stored gradients' ``K`` (weight elements per output channel)."""
        return None if self.dnu is None else self.dnu.shape[-1]

    @property
    def has_gradients(self) -> bool:
        return self.dnu is not None

    # ------------------------------------------------------------------
    # storing an entry: reserve (before the step), write_row, commit
    def reserve(self, channels: int, dtype: torch.dtype, device: torch.device,
                dmu_shape: Optional[Tuple[int, ...]] = None,
                dnu_shape: Optional[Tuple[int, ...]] = None) -> int:
        """The slot the next entry goes to (the oldest entry's once full).

        Allocates the storage first if the entry's layout (channels, dtype,
        device, gradient shapes ``(G, K)`` and ``(C, K)`` or None) differs
        from the stored one, which forgets the stored entries.
        """
        rows = 2 if dnu_shape is None else len(STAT_FIELDS)
        layout = (rows, channels)
        stats = self.stats
        if (stats is None or tuple(stats.shape[1:]) != layout
                or stats.dtype != dtype or stats.device != device
                or (None if self.dnu is None else tuple(self.dnu.shape[1:]))
                != (None if dnu_shape is None else tuple(dnu_shape))
                or (dmu_shape is not None and self._dmu_shape() is not None
                    and self._dmu_shape() != tuple(dmu_shape))):
            self.clear()
            # zeros: slots not yet filled are masked out, but finite
            self.stats = torch.zeros((self.capacity, ) + layout,
                                     dtype=dtype, device=device)
            if dnu_shape is not None:
                self.dnu_scale = self.stats.new_zeros(self.capacity, 1)
                self.dmu = [None] * self.capacity
                self.dnu = self.stats.new_zeros(
                    (self.capacity, ) + tuple(dnu_shape))
        return (self.head - 1) % self.capacity

    def _dmu_shape(self) -> Optional[Tuple[int, ...]]:
        for dmu in self.dmu or ():
            if dmu is not None:
                return tuple(dmu.shape)
        return None

    def write_row(self, slot: int, mu: Tensor, var: Tensor,
                  w_dmu: Optional[Tensor] = None,
                  dnu_scale: Optional[Tensor] = None) -> None:
        """The per-channel values of the new entry into ``slot`` (tensor
        operations only).  With gradients: ``w_dmu = <dmu, W>`` per channel
        and the factor ``dnu_scale`` (a one-element tensor) of its ``dnu``.
        """
        if w_dmu is None:
            torch.stack([mu, var], out=self.stats[slot])
            return
        # <dnu, W> = 2 (var + mu <dmu, W>)
        w_dnu = torch.addcmul(var, mu, w_dmu).mul_(2)
        torch.stack([mu, var, w_dmu, w_dnu], out=self.stats[slot])
        self.dnu_scale[slot].copy_(dnu_scale.view(1))

    def commit(self, slot: int, dmu: Optional[Tensor] = None) -> None:
        """The entry written to ``slot`` becomes the newest."""
        if self.dmu is not None:
            self.dmu[slot] = None if dmu is None else dmu.reshape(
                dmu.shape[0], -1)
        self.head = slot
        self.count = min(self.count + 1, self.capacity)

    def push(self, mu: Tensor, var: Tensor, dmu: Optional[Tensor] = None,
             dnu: Optional[Tensor] = None, weight: Optional[Tensor] = None,
             w_dmu: Optional[Tensor] = None,
             dnu_scale: float = 1.0) -> None:
        """Add an iteration (the oldest entry drops out when full).

        ``dmu``: ``(G, ...)`` and ``dnu``: ``(C, ...)``, or both None (naive
        CBN, or a frozen conv: no Taylor term).  With gradients, give
        ``w_dmu = <dmu, W>`` per channel or the ``weight`` ``W`` the entry
        was taken at (the weight as the convolution used it).
        ``dnu_scale``: the factor that turns the given ``dnu`` into
        ``d nu / dW``.
        """
        if self.capacity == 0:
            return
        channels = mu.shape[0]
        if dnu is not None:
            dmu = dmu.reshape(dmu.shape[0], -1)
            dnu = dnu.reshape(channels, -1)
        slot = self.reserve(channels, mu.dtype, mu.device,
                            None if dmu is None else tuple(dmu.shape),
                            None if dnu is None else tuple(dnu.shape))
        if dnu is not None:
            if w_dmu is None:
                w_dmu = _group_products(weight, dmu.unsqueeze(0))[0]
            self.write_dnu(slot, dnu)
        self.write_row(slot, mu, var, w_dmu,
                       None if dnu is None else mu.new_full((1, ), dnu_scale))
        self.commit(slot, dmu)

    def dnu_slot(self, slot: int) -> Optional[Tensor]:
        """Where the ``dnu`` of the entry going to ``slot`` is stored."""
        return None if self.dnu is None else self.dnu[slot]

    def write_dnu(self, slot: int, dnu: Tensor) -> None:
        """The new entry's ``dnu`` into ``slot`` (nothing to copy when it
        was computed in place, into :meth:`dnu_slot`)."""
        stored = self.dnu[slot]
        if dnu.data_ptr() != stored.data_ptr():
            stored.copy_(dnu.view(stored.shape))

    # ------------------------------------------------------------------
    # reading
    def in_use_weights(self, n: int, like: Tensor) -> Tensor:
        """:meth:`in_use` as 0/1 weights of ``like``'s dtype, ``(capacity,
        1)``; cached (a full window has only ``capacity`` layouts)."""
        key = (n, self.count, self.head, like.dtype, like.device)
        weights = self._weights.get(key)
        if weights is None:
            weights = self._weights[key] = self.in_use(n).to(
                like.dtype).unsqueeze(1)
        return weights

    def in_use(self, n: int) -> Tensor:
        """Mask of the slots holding the newest ``min(n, count)`` entries."""
        device = self.stats.device
        age = (torch.arange(self.capacity, device=device) -
               self.head) % self.capacity
        return age < min(n, self.count)

    def weight_products(self, weight: Tensor, new_dmu: Optional[Tensor] = None,
                        out: Optional[Tensor] = None) -> Tensor:
        """``<dmu, weight>`` per channel of every slot, and last of
        ``new_dmu`` if given: ``(capacity [+ 1], C)`` (into ``out``,
        ``(C, capacity [+ 1])``, when given).  One small matrix product per
        group (zeros for the empty slots)."""
        dmus = list(self.dmu) if self.dmu is not None else []
        if new_dmu is not None:
            dmus.append(new_dmu.reshape(new_dmu.shape[0], -1))
        return _group_products(weight, _stack_slots(dmus), out)

    def weight_dots(self, weight: Tensor,
                    out: Optional[Tensor] = None) -> Tensor:
        """``<dnu / dnu_scale, weight>`` per channel of every slot,
        ``(capacity, C)`` (into ``out``, ``(C, capacity)``, when given).

        Per slot an elementwise product and a sum, the product into the
        shared scratch buffer (:mod:`.fast.workspace`: one weight-sized
        temporary, reused while it is in cache); on a GPU one batched
        matrix-vector product instead (fast route,
        :func:`.fast.gpu_routes.slot_dots`).
        """
        capacity, channels = self.dnu.shape[:2]
        weight = cast(weight.detach(), self.dnu.dtype).reshape(channels, -1)
        if out is None:
            out = self.dnu.new_empty(channels, capacity)
        if self.dnu.is_cuda:  # fast route
            return slot_dots(self.dnu, weight, out)
        buffer = scratch(weight.shape, weight)
        for dnu, row in zip(self.dnu, out.t()):
            torch.sum(torch.mul(dnu, weight, out=buffer), -1, out=row)
        return out.t()

    def compensate(self, products: Tensor, dots: Tensor,
                   rho: float) -> Tuple[Tensor, Tensor]:
        """``mu`` and ``var`` of every slot at the weight the products were
        taken with: ``products`` from :meth:`weight_products` (its first
        ``capacity`` rows) and ``dots`` from :meth:`weight_dots`.
        Per-channel arithmetic only."""
        mu, var, w_dmu, w_dnu = self.stats.unbind(1)  # STAT_FIELDS rows
        d_mu = torch.sub(products[:self.capacity], w_dmu)
        if rho != 1:
            d_mu.mul_(rho)
        # <dnu, W_tau> - <dnu, W_t> = -d_nu / rho
        minus_d_nu = torch.addcmul(w_dnu, dots, self.dnu_scale, value=-1)
        new_mu = mu + d_mu
        # var + d_nu - (2 mu + d_mu) d_mu
        new_var = torch.sub(var, minus_d_nu, alpha=rho)
        return new_mu, new_var.addcmul_(mu + new_mu, d_mu, value=-1)

    def compensated(self, weight: Optional[Tensor], rho: float,
                    new_dmu: Optional[Tensor] = None
                    ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """``mu`` and ``var`` of every slot at ``weight``: ``(capacity, C)``,
        and ``<new_dmu, weight>`` per channel (``(C,)``, None without
        ``new_dmu``).

        Use :meth:`in_use` to pick the valid slots (empty ones hold zeros).
        With ``rho == 0``, no stored gradients or no weight they are the
        stored values.
        """
        mu, var = self.stats[:, 0], self.stats[:, 1]
        if weight is None or (new_dmu is None and (
                rho == 0 or not self.has_gradients)):
            return mu, var, None
        products = self.weight_products(weight, new_dmu)
        new_w_dmu = products[-1] if new_dmu is not None else None
        if rho == 0 or not self.has_gradients or not self.count:
            return mu, var, new_w_dmu
        return (*self.compensate(products, self.weight_dots(weight), rho),
                new_w_dmu)

    # ------------------------------------------------------------------
    def apply(self, fn: Callable[[Tensor], Tensor]) -> None:
        """Apply a tensor conversion (``Module._apply``'s ``fn``)."""
        for name in ('stats', 'dnu_scale', 'dnu'):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, fn(value))
        if self.dmu is not None:
            self.dmu = [None if t is None else fn(t) for t in self.dmu]
        self._weights = {}

    # checkpoint form: (capacity, ...) tensors in slot order, plus the
    # count and head kept by the layer
    def state(self) -> Dict[str, Tensor]:
        state = {name: torch.empty(0) for name in FIELDS}
        if self.stats is None:
            return state
        for index, name in enumerate(STAT_FIELDS[:self.stats.shape[1]]):
            state[name] = self.stats[:, index].clone()
        if self.has_gradients:
            state['dnu_scale'] = self.dnu_scale[:, 0].clone()
            state['dnu'] = self.dnu.clone()
            state['dmu'] = _stack_slots(self.dmu) if any(
                t is not None for t in self.dmu) else torch.empty(0)
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
        with_gradients = state['dnu'].numel() > 0
        names = STAT_FIELDS if with_gradients else STAT_FIELDS[:2]
        self.stats = torch.stack([state[name] for name in names],
                                 1).to(device)
        if with_gradients:
            self.dnu_scale = state['dnu_scale'].to(
                device=device, dtype=self.stats.dtype).view(capacity, 1)
            self.dnu = state['dnu'].to(device=device, dtype=self.stats.dtype,
                                       copy=True).reshape(
                                           capacity, self.stats.shape[2], -1)
            age = [(slot - head) % capacity for slot in range(capacity)]
            self.dmu = [
                t.to(device).clone() if a < count else None
                for t, a in zip(state['dmu'].unbind(0), age)
            ]
        self.count, self.head = count, head


def window_identity_error(window: StatWindow, weight: Tensor) -> float:
    """Largest relative error of ``<dnu, W> = 2 (var + mu <dmu, W>)`` (and
    ``<dmu, W> = w_dmu``) for the newest entry, ``weight`` the weight it was
    taken at: fp32 rounding for fp32 gradients, TF32's (10-bit mantissa)
    for TF32 ones.  A diagnostic (tests, benchmarks)."""
    slot = window.head
    weight = cast(weight.detach(), window.dnu.dtype).reshape(
        window.dnu.shape[1], -1)
    mu, var, w_dmu, w_dnu = window.stats[slot]
    got_dnu = (window.dnu[slot] * weight).sum(-1) * window.dnu_scale[slot]
    got_dmu = _group_products(weight, window.dmu[slot].unsqueeze(0))[0]
    return max(((got_dnu - w_dnu).abs().max() / w_dnu.abs().max()).item(),
               ((got_dmu - w_dmu).abs().max() / w_dmu.abs().max()).item())
