"""Swin V2 patch merging: 2x2 neighbours concatenated, reduced, then normalised."""
import torch
import torch.nn.functional as F
from torch import nn


class PatchMergingV2(nn.Module):
    """Official ``PatchMerging`` of Swin V2 (post-norm, unlike V1).

    Concatenates ``[x(0::2, 0::2), x(1::2, 0::2), x(0::2, 1::2),
    x(1::2, 1::2)]`` (rows, columns), applies ``reduction`` (Linear 4C -> 2C,
    no bias) and then ``norm`` on the 2C channels.  Odd sizes are padded at
    the bottom/right (as Swin's detection code does).
    """

    def __init__(self, dim: int, out_dim: int = None):
        super().__init__()
        self.dim = dim
        self.out_dim = out_dim or 2 * dim
        self.reduction = nn.Linear(4 * dim, self.out_dim, bias=False)
        self.norm = nn.LayerNorm(self.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, [T,] H, W, C)`` -> ``(B, [T,] ceil(H/2), ceil(W/2), out_dim)``.

        Only the last two spatial axes are merged: a video's time axis (if
        any) is kept, as in Video Swin.
        """
        *lead, height, width, channels = x.shape
        x = x.reshape(-1, height, width, channels)
        if height % 2 or width % 2:
            x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
            height, width = height + height % 2, width + width % 2
        # (N, H/2, 2[row], W/2, 2[col], C) -> (N, H/2, W/2, 2[col], 2[row], C)
        x = x.view(-1, height // 2, 2, width // 2, 2, channels)
        x = x.permute(0, 1, 3, 4, 2, 5).reshape(-1, height // 2, width // 2,
                                                 4 * channels)
        x = self.norm(self.reduction(x))
        return x.view(*lead, height // 2, width // 2, self.out_dim)
