"""Checks of the Swin V2 backbones' size arguments, before any layer is built.

Official Swin V2 (``models/swin_transformer_v2.py``) takes ``window_size`` as
a positive int and ``pretrained_window_sizes`` as one int per stage, ``0``
meaning "no pretrained window" (the bias is normalised by the window itself).
mmpretrain's ``SwinTransformerV2`` accepts ``out_indices`` in
``[-num_stages, num_stages)`` and rejects anything else.  Without these
checks ``window_size=0``/``-4``/``3.5`` failed deep inside torch,
``window_size=True`` and ``pretrained_window_sizes=-1`` were accepted, and
``out_indices=(5,)`` silently became stage 1.
"""
from typing import Iterator, Sequence

from visrep.errors import ArgumentTypeError, ArgumentValueError


def _leaves(value) -> Iterator:
    """The scalars of an int, a per-axis tuple or a per-stage list of them."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def check_sizes(value, name: str, minimum: int, meaning: str) -> None:
    """Every entry of ``value`` (an int, one per axis, or one such per stage)
    is an ``int`` (not a bool) of at least ``minimum``."""
    for leaf in _leaves(value):
        if isinstance(leaf, bool) or not isinstance(leaf, int):
            raise ArgumentTypeError(
                f'{name}={value!r}: {leaf!r} is a {type(leaf).__name__}; '
                f'give ints >= {minimum} ({meaning}).')
        if leaf < minimum:
            raise ArgumentValueError(f'{name}={value!r}: {leaf} < {minimum}; give '
                             f'ints >= {minimum} ({meaning}).')


def check_out_indices(out_indices: Sequence[int], num_stages: int) -> None:
    """Each index is an int in ``[-num_stages, num_stages)`` (mmpretrain's
    rule: a negative index counts from the last stage)."""
    allowed = f'{-num_stages}..{num_stages - 1}'
    if isinstance(out_indices, int) or not isinstance(out_indices,
                                                      (list, tuple)):
        raise ArgumentTypeError(f'out_indices={out_indices!r}: give a sequence of '
                        f'stage indices in {allowed}, e.g. (3, ) or '
                        '(0, 1, 2, 3).')
    for index in out_indices:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ArgumentTypeError(f'out_indices={out_indices!r}: {index!r} is not '
                            f'an int; give stage indices in {allowed}.')
        if not -num_stages <= index < num_stages:
            raise ArgumentValueError(
                f'out_indices={out_indices!r}: {index} is not a stage of '
                f'this {num_stages}-stage backbone; give indices in '
                f'{allowed}.')


def check_backbone_arguments(num_stages: int, *, window_size,
                             pretrained_window_sizes, patch_size,
                             out_indices: Sequence[int]) -> None:
    """All size arguments of :class:`SwinTransformerV2` and
    :class:`VideoSwinTransformerV2`; raises ``TypeError``/``ValueError``
    naming the argument and the allowed values."""
    check_sizes(window_size, 'window_size', 1,
                'the attention window in patches')
    check_sizes(pretrained_window_sizes, 'pretrained_window_sizes', 0,
                'the windows the position bias was trained with; 0 = none')
    check_sizes(patch_size, 'patch_size', 1, 'the patch size in pixels')
    check_out_indices(out_indices, num_stages)

