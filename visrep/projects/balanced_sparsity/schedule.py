"""When masks are recomputed and at which sparsity.

``'cubic'`` is the gradual schedule of Zhu & Gupta (2017, "To prune, or not
to prune"), the usual reading of the paper's "iterative pruning ... gradually
raising sparsity":

    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3,
          t in {t0, t0 + dt, ..., t0 + n * dt}

with ``t0 = begin``, ``n * dt = end - begin``, ``dt = interval``; an update
also happens at ``end`` when ``interval`` does not divide ``end - begin``.
``'oneshot'`` prunes to ``s_f`` once, at ``begin``.  Masks stay fixed
between updates and after the last one.  ``t`` counts completed training
iterations (mmengine's ``runner.iter``): the update "at t" runs before
iteration ``t`` trains.  Epoch-based bounds are converted by the hook.
"""
from dataclasses import dataclass
from typing import Optional

SCHEDULES = ('cubic', 'oneshot')


@dataclass(frozen=True)
class SparsitySchedule:
    """Schedule in iterations; see the module docstring."""

    kind: str
    begin: int
    end: Optional[int]
    interval: int
    initial: float = 0.0

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f'schedule={self.kind!r}: use one of '
                             f'{SCHEDULES}.')
        if not isinstance(self.begin, int) or self.begin < 0:
            raise ValueError(f'begin={self.begin!r}: the first update, an '
                             'iteration (or epoch) >= 0.')
        if self.kind == 'oneshot':
            if self.end is not None and self.end != self.begin:
                raise ValueError(
                    f"schedule='oneshot' prunes once, at begin={self.begin}; "
                    f'end={self.end} would be ignored: leave end unset.')
            return
        if not isinstance(self.end, int) or self.end <= self.begin:
            raise ValueError(
                f"schedule='cubic' needs end > begin (got begin="
                f'{self.begin}, end={self.end!r}): end is when the target '
                "sparsity is reached; use schedule='oneshot' to prune at "
                'once.')
        if not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f'interval={self.interval!r}: iterations (or '
                             'epochs) between mask updates, >= 1.')
        if not 0 <= self.initial < 1:
            raise ValueError(f'initial_sparsity={self.initial!r}: must be in '
                             '[0, 1).')

    @property
    def last(self) -> int:
        """Iteration of the last update."""
        return self.begin if self.kind == 'oneshot' else self.end

    def is_update(self, t: int) -> bool:
        if self.kind == 'oneshot':
            return t == self.begin
        return self.begin <= t <= self.end and (
            (t - self.begin) % self.interval == 0 or t == self.end)

    def last_update_at_or_before(self, t: int) -> Optional[int]:
        """The most recent update iteration ``<= t`` (``None`` before
        ``begin``)."""
        if t < self.begin:
            return None
        if t >= self.last:
            return self.last
        return self.begin + (t - self.begin) // self.interval * self.interval

    def sparsity(self, t: int, final: float) -> float:
        """Target sparsity at iteration ``t`` for a layer whose target is
        ``final`` (0 before ``begin``)."""
        if t < self.begin:
            return 0.0
        if self.kind == 'oneshot' or t >= self.end:
            return final
        if self.initial > final:
            raise ValueError(f'initial_sparsity={self.initial} exceeds a '
                             f'layer target {final}: the schedule would '
                             'lower the sparsity.')
        progress = (t - self.begin) / (self.end - self.begin)
        return final + (self.initial - final) * (1 - progress)**3
