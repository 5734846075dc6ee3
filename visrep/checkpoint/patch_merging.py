"""Channel order of Swin patch-merging reductions (Swin V1 and V2 alike).

The official patch merging concatenates the four 2x2 neighbours
offset-major, ``[(0,0), (1,0), (0,1), (1,1)]`` (input channel ``k*C + c``);
mmpretrain's merges with ``nn.Unfold``, channel-major over the offsets in
row-major order (``c*4 + k``).  Converting a checkpoint between the two
permutes the input columns of ``reduction.weight`` (and the norm before it).
"""
import torch


def unfold_to_official_reduction(weight: torch.Tensor) -> torch.Tensor:
    """mmpretrain's ``nn.Unfold`` channel order -> official concat order."""
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, in_channels // 4, 4).transpose(1, 2)
    return weight[:, [0, 2, 1, 3]].reshape(out_channels, in_channels)


def official_to_unfold_reduction(weight: torch.Tensor) -> torch.Tensor:
    """Official concat order -> ``nn.Unfold`` order (inverse of the above)."""
    out_channels, in_channels = weight.shape
    weight = weight.reshape(out_channels, 4, in_channels // 4)[:, [0, 2, 1, 3]]
    return weight.transpose(1, 2).reshape(out_channels, in_channels)
