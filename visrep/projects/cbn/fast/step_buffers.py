"""The per-channel tensors of a CBN training step, kept in place.

The layer's per-channel step (``CBN._per_channel_step``) reads and writes
only tensors that live across steps, so that it can be replayed as a CUDA
graph (:mod:`.cuda_graph`), which holds their addresses.  These are the
step's own inputs and outputs; the window's storage and the layer's
parameters and buffers are the rest.
"""
from typing import List, Optional

from torch import Tensor


class StepBuffers:
    """One layer's step tensors: the batch ``moments`` (mean, variance),
    the values per channel ``count`` (a one-element tensor), the
    ``products`` ``<dmu, W>`` (``(C, capacity + 1)``: the window's slots
    and the new entry), the ``dots`` ``<dnu, W>`` (``(C, capacity)``) and
    the normalisation's ``coeffs`` (``pooled_norm.coefficients``)."""

    def __init__(self, channels: int, capacity: int, like: Tensor):
        def new(*shape):
            return like.new_zeros(shape)

        self.moments = new(2, channels)
        self.count = new(1)
        self.products = new(channels, capacity + 1)
        self.dots = new(channels, capacity)
        self.coeffs = new(6, channels)
        self._count_value = 0

    def set_count(self, count: int) -> None:
        if count != self._count_value:  # (a kernel launch on a GPU)
            self.count.fill_(count)
            self._count_value = count

    def fits(self, channels: int, like: Tensor) -> bool:
        """Whether these buffers serve a step of ``channels`` channels with
        ``like``'s dtype and device."""
        return (self.moments.shape[1] == channels
                and self.moments.dtype == like.dtype
                and self.moments.device == like.device)

    def tensors(self) -> List[Tensor]:
        """Every tensor held (in a fixed order)."""
        return [self.moments, self.products, self.dots, self.count,
                self.coeffs]


def reuse_or_new(buffers: Optional[StepBuffers], channels: int,
                 capacity: int, like: Tensor) -> StepBuffers:
    """``buffers`` if they fit the step, else new ones."""
    if buffers is not None and buffers.fits(channels, like):
        return buffers
    return StepBuffers(channels, capacity, like)
