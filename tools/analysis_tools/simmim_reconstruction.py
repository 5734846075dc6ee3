#!/usr/bin/env python
"""Draw SimMIM reconstructions: input | masked input | reconstruction.

Each image is resized (short edge) and centre-cropped to the mask
generator's ``input_size``, masked with the config's
``SimMIMMaskGenerator`` (seeded), and passed through the model as in
training: ``neck(backbone(x, mask))``.  The reconstruction takes the masked
patches from the prediction and the visible ones from the input; the
normalisation of the data preprocessor is undone (and, for
``norm_target=True`` heads, the local normalisation of the target, with the
input's local statistics).  One row per image.

    python tools/analysis_tools/simmim_reconstruction.py CONFIG CHECKPOINT \\
        IMG [IMG ...] --out simmim_reconstruction.png [--seed 0] \\
        [--mask-ratio 0.6] [--cfg-options k=v ...]
"""
import argparse
from typing import Dict, List, Optional, Sequence

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

import visrep  # noqa: E402,F401  (compatibility layer first)
from visrep.cli.model_builder import (build_config_model,  # noqa: E402
                                     load_for_inference)

#: the grey that masked patches are shown in
MASK_GREY = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random masks')
    parser.add_argument('--mask-ratio', type=float,
                        help="override the mask generator's mask_ratio")
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    return parser.parse_args(argv)


def mask_generator_cfg(cfg: Config) -> dict:
    """The ``SimMIMMaskGenerator`` of the config's training pipeline."""
    dataset = cfg.train_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    for transform in dataset.get('pipeline', []):
        if transform['type'].split('.')[-1] == 'SimMIMMaskGenerator':
            return dict(transform)
    raise SystemExit('train_dataloader.dataset.pipeline has no '
                     'SimMIMMaskGenerator: pass a SimMIM pre-training '
                     'config.')


def pipeline_cfg(cfg: Config,
                 mask_ratio: Optional[float] = None) -> List[dict]:
    """Load, resize the short edge, centre-crop, mask, pack."""
    mask = mask_generator_cfg(cfg)
    if mask_ratio is not None:
        mask['mask_ratio'] = mask_ratio
    size = mask.get('input_size', 192)
    h, w = (size, size) if isinstance(size, int) else size
    return [dict(type='LoadImageFromFile'),
            dict(type='ResizeEdge', scale=min(h, w), edge='short'),
            dict(type='CenterCrop', crop_size=(w, h)), mask,
            dict(type='PackInputs')]


def build_model(cfg: Config, checkpoint: str, device: str) -> torch.nn.Module:
    """The config's model with the checkpoint's weights, in eval mode."""
    model = build_config_model(cfg, default_scope='mmpretrain')
    if not all(hasattr(model, m) for m in ('backbone', 'neck')):
        raise SystemExit(f'{type(model).__name__} has no backbone + neck '
                         'decoder: pass a SimMIM pre-training config.')
    return load_for_inference(model, checkpoint, device)


def load_batch(cfg: Config, images: Sequence[str], seed: int,
               mask_ratio: Optional[float] = None) -> dict:
    """The images through the pipeline (masks seeded), collated."""
    from mmengine.dataset import Compose, default_collate
    pipeline = Compose(pipeline_cfg(cfg, mask_ratio))
    np.random.seed(seed)  # the generator draws from NumPy's global state
    return default_collate([pipeline(dict(img_path=p)) for p in images])


def local_stats(images: torch.Tensor, kernel: int,
                eps: float = 1e-6) -> torch.Tensor:
    """Local mean and ``sqrt(var + eps)`` of SimMIM's normalised target
    (the window cut at the border, unbiased variance clamped at 0)."""
    pool = dict(kernel_size=kernel, stride=1, padding=kernel // 2)
    mean = F.avg_pool2d(images, count_include_pad=False, **pool)
    mean_sq = F.avg_pool2d(images**2, count_include_pad=False, **pool)
    count = F.avg_pool2d(torch.ones_like(images), count_include_pad=True,
                         **pool) * kernel**2
    var = ((mean_sq - mean**2) * count / (count - 1)).clamp(min=0.0)
    return mean, (var + eps).sqrt()


def pixel_mask(mask: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``(B, h, w)`` token mask -> ``(B, 1, H, W)`` pixel mask."""
    scale = size[0] // mask.shape[-2]
    return mask.repeat_interleave(scale, 1).repeat_interleave(
        scale, 2)[:, None].float()


def compose(inputs: torch.Tensor, pred: torch.Tensor,
            masks: torch.Tensor) -> torch.Tensor:
    """Masked pixels from ``pred``, visible ones from ``inputs``."""
    return inputs * (1 - masks) + pred * masks


def reconstruct(model: torch.nn.Module, batch: dict) -> Dict[str, np.ndarray]:
    """``input``, ``masked`` and ``reconstruction`` images ``(B, H, W, 3)``
    in [0, 1] (RGB), and the pixel ``mask`` ``(B, H, W)``."""
    preprocessor = model.data_preprocessor
    data = preprocessor(batch, False)
    inputs = data['inputs']
    mask = torch.stack([s.mask for s in data['data_samples']]).to(
        inputs.device)
    with torch.no_grad():
        pred = model.neck(model.backbone(inputs, mask)[0])
    head = getattr(model, 'head', None)
    if getattr(head, 'norm_target', False):
        mean, std = local_stats(inputs, head.norm_target_kernel)
        pred = pred * std + mean
    masks = pixel_mask(mask, inputs.shape[-2:])

    normalised = getattr(preprocessor, '_enable_normalize', False)

    def to_image(x: torch.Tensor) -> np.ndarray:
        if normalised:
            x = x * preprocessor.std + preprocessor.mean
        return (x / 255).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()

    masked = to_image(inputs)
    masked[masks[:, 0].cpu().numpy() > 0] = MASK_GREY
    return dict(input=to_image(inputs), masked=masked,
                reconstruction=to_image(compose(inputs, pred, masks)),
                mask=masks[:, 0].cpu().numpy())


def masked_l1(images: Dict[str, np.ndarray]) -> List[float]:
    """Mean absolute error (0-1 pixels) of each reconstruction, masked area."""
    errors = []
    for inp, rec, m in zip(images['input'], images['reconstruction'],
                           images['mask']):
        errors.append(float(np.abs(inp - rec)[m > 0].mean()))
    return errors


def draw(images: Dict[str, np.ndarray], names: Sequence[str],
         title: str, out: str) -> None:
    """One row per image: input | masked input | reconstruction."""
    rows = len(names)
    fig, axes = plt.subplots(rows, 3, squeeze=False,
                             figsize=(3 * 2.2, rows * 2.2 + 0.5),
                             layout='constrained')
    errors = masked_l1(images)
    for r, name in enumerate(names):
        columns = [('input', name), ('masked', 'mask'),
                   ('reconstruction', f'reconstruction (L1 {errors[r]:.3f})')]
        for c, (key, label) in enumerate(columns):
            ax = axes[r, c]
            ax.imshow(images[key][r], interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(label, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv=None) -> Dict[str, np.ndarray]:
    """Write the figure; returns the drawn images (see :func:`reconstruct`)."""
    import os.path as osp
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for path in args.images:
        if not osp.isfile(path):
            raise SystemExit(f'image {path!r} does not exist.')
    if args.mask_ratio is not None and not 0 <= args.mask_ratio <= 1:
        raise SystemExit(f'--mask-ratio {args.mask_ratio} is not in [0, 1].')
    model = build_model(cfg, args.checkpoint, args.device)
    batch = load_batch(cfg, args.images, args.seed, args.mask_ratio)
    images = reconstruct(model, batch)
    ratio = images['mask'].mean()
    title = (f'{osp.basename(args.config)}: {ratio:.0%} of the pixels '
             f'masked (seed {args.seed})')
    draw(images, [osp.basename(p) for p in args.images], title, args.out)
    print(f'{len(args.images)} images -> {args.out}')
    return images


if __name__ == '__main__':
    main()
