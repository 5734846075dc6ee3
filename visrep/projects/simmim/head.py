"""SimMIM's reconstruction loss (official normalisation, optional normalised target)."""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from visrep.registry import MODELS


def normalize_targets(images: torch.Tensor, kernel: int = 47,
                      eps: float = 1e-6) -> torch.Tensor:
    """Local mean/variance normalisation of the target (SwinV2 ``NORM_TARGET``).

    ``(x - mean) / sqrt(var + eps)`` over a ``kernel x kernel`` window at every
    pixel (stride 1, the window cut at the border: means count only pixels
    inside), with the unbiased variance ``n / (n - 1)`` clamped at 0 -- the
    official ``norm_targets`` (microsoft/Swin-Transformer ``models/simmim.py``).
    """
    if kernel % 2 != 1:
        raise ValueError(f'norm_target kernel={kernel} must be odd.')
    pool = dict(kernel_size=kernel, stride=1, padding=kernel // 2)
    mean = F.avg_pool2d(images, count_include_pad=False, **pool)
    mean_sq = F.avg_pool2d(images**2, count_include_pad=False, **pool)
    count = F.avg_pool2d(torch.ones_like(images), count_include_pad=True,
                         **pool) * kernel**2
    var = ((mean_sq - mean**2) * (count / (count - 1))).clamp(min=0.0)
    return (images - mean) / (var + eps)**0.5


@MODELS.register_module()
class SimMIMHead(BaseModule):
    """L1 loss on the masked pixels, normalised as the official SimMIM.

    ``loss = sum(|x - x_rec| * m) / (sum(m) + 1e-5) / C`` where ``m`` is the
    token mask repeated ``patch_size`` times along both axes (one entry per
    pixel, shared by the ``C`` channels), i.e. the mean absolute error over
    masked pixel-channels.  The target ``x`` is the normalised input image,
    or with ``norm_target=True`` its local normalisation
    (:func:`normalize_targets`, the SwinV2 SimMIM configs).  mmpretrain's
    ``SimMIMHead`` + ``PixelReconstructionLoss`` omit the ``1e-5`` and the
    normalised target.

    Args:
        patch_size: pixels per token side (Swin 4, ViT 16).
        norm_target: normalise the target locally.
        norm_target_kernel: window of the local normalisation (official 47).
    """

    def __init__(self, patch_size: int, norm_target: bool = False,
                 norm_target_kernel: int = 47, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if norm_target and norm_target_kernel % 2 != 1:
            raise ValueError(f'norm_target_kernel={norm_target_kernel} must '
                             'be odd (official 47).')
        self.patch_size = patch_size
        self.norm_target = norm_target
        self.norm_target_kernel = norm_target_kernel

    def pixel_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """``(B, h, w)`` token mask -> ``(B, 1, h*p, w*p)`` pixel mask."""
        p = self.patch_size
        return mask.repeat_interleave(p, 1).repeat_interleave(
            p, 2).unsqueeze(1).contiguous()

    def loss(self, pred: torch.Tensor, target: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        """Reconstruction ``pred`` and image ``target`` ``(B, C, H, W)``."""
        if pred.shape != target.shape:
            raise ValueError(
                f'reconstruction {tuple(pred.shape)} and image '
                f'{tuple(target.shape)} differ: the decoder stride must '
                'equal the backbone stride and the image a multiple of it.')
        mask = self.pixel_mask(mask).to(pred.dtype)
        if mask.shape[-2:] != pred.shape[-2:]:
            raise ValueError(
                f'mask covers {tuple(mask.shape[-2:])} pixels, image '
                f'{tuple(pred.shape[-2:])}: check the mask generator\'s '
                'input_size and model_patch_size.')
        if self.norm_target:
            target = normalize_targets(target, self.norm_target_kernel)
        l1 = F.l1_loss(target, pred, reduction='none')
        return (l1 * mask).sum() / (mask.sum() + 1e-5) / pred.shape[1]
