"""The per-rank shard of iCAR's class list.

iCAR builds the classifier of thousands of classes every step with a
trainable text encoder by letting each rank encode ``N / world_size`` class
texts and all-gathering the embeddings *with* gradient
(:func:`visrep.engine.all_gather_with_grad`; the author's heads use
diffdist / a ``SyncFunction``).
"""
from typing import List, Tuple

from mmengine.dist import get_dist_info


def shard_indices(num: int, rank: int = None,
                  world: int = None) -> Tuple[List[int], int]:
    """This rank's contiguous slice of ``range(num)``: ``(indices, per)``.

    Every rank gets ``per = ceil(num / world)`` slots; slots past the end
    repeat index ``num - 1`` (their rows are dropped after the gather).
    """
    if rank is None or world is None:
        rank, world = get_dist_info()
    per = -(-num // world)
    return [min(i, num - 1) for i in range(rank * per, (rank + 1) * per)], per
