"""The progress bar every generator shows (tqdm on stderr)."""
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar('T')


def progress(items: Iterable[T], description: str,
             unit: str = 'img') -> Iterable[T]:
    return tqdm(items, desc=description, unit=unit, leave=True,
                dynamic_ncols=True, mininterval=0.5)
