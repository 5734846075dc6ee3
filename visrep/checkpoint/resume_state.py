"""What ``--resume`` must take from the checkpoint before the runner is built.

mmengine's ``Runner.resume`` restores the seed recorded in the checkpoint
(``meta['seed']``) -- but only after the train dataloader was built with the
new run's seed.  Without ``randomness.seed`` in the config every run draws a
random seed, so a resumed run shuffles with another sampler seed
(``DefaultSampler`` draws its seed from the seeded NumPy RNG) and seeds its
dataloader workers differently: the data order and the augmentation after
``--resume`` differ from the unbroken run's.  :func:`checkpoint_seed` reads
the recorded seed so that ``tools/train.py`` sets it before building.
"""
from typing import Optional

from visrep.compat.weights_only_load import load_checkpoint_file


def checkpoint_seed(filename: str) -> Optional[int]:
    """The random seed an mmengine checkpoint recorded (``meta['seed']``),
    or None.  The tensors are memory-mapped, not read."""
    checkpoint = load_checkpoint_file(filename, map_location='cpu', mmap=True)
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    seed = meta.get('seed') if isinstance(meta, dict) else None
    return int(seed) if seed is not None else None
