#!/usr/bin/env python
"""Draw a DNL block's pairwise and unary attention for a few query points.

One row per query point, as in Figure 1 of the DNL paper (Yin et al., ECCV
2020): the image with the query marked | the whitened pairwise attention of
that query over the image | the unary attention (the same for every query).
The maps are what the block computes on this image: its input is captured
with a forward pre-hook (the rest of the network is not run), and the two
softmaxes are recomputed from the block's own convs::

    pairwise(i, j) = softmax_j((q_i - mu_q) . (k_j - mu_k) * s)
    unary(j)       = softmax_j(conv_mask(x)_j)

    python tools/analysis_tools/dnl_attention_maps.py CONFIG CHECKPOINT \\
        IMAGE --points 120,80 400,150 --out dnl_attention.png \\
        [--block decode_head.dnl_block] [--cfg-options k=v ...]

Points are ``x,y`` pixels of IMAGE as given; the config's test pipeline
resizes it (the points follow its ``scale_factor``).  ``--block`` names one
DNL block of the model (default: the last one, e.g. the segmentation head's);
2-D blocks only.
"""
import argparse
import copy
from typing import Dict, List, Optional, Sequence, Tuple

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
from visrep.projects.dnl import DNLBlock, unary_weights, whiten  # noqa: E402

Point = Tuple[float, float]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--points', nargs='+', required=True,
                        help='query points as x,y pixels of IMAGE')
    parser.add_argument('--out', required=True, help='PNG file')
    parser.add_argument('--block', help='module name of the DNL block '
                        '(default: the last DNL block of the model)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')
    return parser.parse_args(argv)


def parse_points(specs: Sequence[str]) -> List[Point]:
    """``['x,y', ...]`` -> ``[(x, y), ...]`` (pixels, non-negative)."""
    points = []
    for spec in specs:
        parts = spec.split(',')
        try:
            x, y = (float(p) for p in parts)
        except ValueError:
            raise SystemExit(f'--points {spec!r}: write each point as x,y '
                             '(pixels of the image), e.g. --points 120,80 '
                             '40,30') from None
        if x < 0 or y < 0:
            raise SystemExit(f'--points {spec!r}: pixel coordinates must be '
                             '>= 0.')
        points.append((x, y))
    return points


def find_dnl_block(model: torch.nn.Module,
                   name: Optional[str] = None) -> Tuple[str, DNLBlock]:
    """The DNL block called ``name`` (default: the last one) of ``model``."""
    blocks = [(n, m) for n, m in model.named_modules()
              if isinstance(m, DNLBlock)]
    if not blocks:
        raise SystemExit('the model has no DNL block (visrep.DNLBlock); use '
                         'a config with the DNL head or DNL plugins.')
    if name is None:
        chosen = blocks[-1]
    else:
        found = [b for b in blocks if b[0] == name]
        if not found:
            raise SystemExit(f'--block {name}: no such DNL block; the '
                             f'model has {[n for n, _ in blocks]}')
        chosen = found[0]
    if chosen[1].dim != 2:
        raise SystemExit(f'--block {chosen[0]} is a {chosen[1].dim}-D block; '
                         'this tool draws 2-D (image) blocks.')
    return chosen


def build_model(cfg: Config, checkpoint: str, device: str) -> torch.nn.Module:
    """The config's model with the checkpoint's weights, in eval mode."""
    model = build_config_model(cfg, default_scope='mmengine')
    return load_for_inference(model, checkpoint, device)


def test_pipeline_cfg(cfg: Config) -> list:
    """The config's test pipeline without annotation loading."""
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    if 'pipeline' not in dataset:
        raise SystemExit('the config has no test_dataloader.dataset.pipeline '
                         'to prepare the image with.')
    return [copy.deepcopy(t) for t in dataset.pipeline
            if 'Annotation' not in t['type']]


def load_input(cfg: Config, image: str) -> dict:
    """``IMAGE`` through the test pipeline, as a batch of one."""
    from mmengine.dataset import Compose, pseudo_collate
    data = Compose(test_pipeline_cfg(cfg))(dict(img_path=image))
    return pseudo_collate([data])


class _Captured(Exception):
    """Stops the forward pass once the block's input is captured."""


def capture_block_input(model: torch.nn.Module, block: DNLBlock,
                        data: dict) -> Tuple[torch.Tensor, dict]:
    """The tensor ``block`` receives when ``model`` runs on ``data``, and the
    preprocessed batch (``inputs``, ``data_samples``)."""
    captured = {}

    def hook(module, args):
        captured['x'] = args[0].detach()
        raise _Captured

    batch = model.data_preprocessor(data, False)
    handle = block.register_forward_pre_hook(hook)
    try:
        with torch.no_grad():
            model(**batch, mode='tensor')
    except _Captured:
        pass
    finally:
        handle.remove()
    if 'x' not in captured:
        raise SystemExit('the DNL block did not run in the forward pass of '
                         'the model; pick another --block.')
    return captured['x'], batch


def _tokens(feature: torch.Tensor) -> torch.Tensor:
    return feature.flatten(2).transpose(1, 2)


def query_attention(block: DNLBlock, x: torch.Tensor,
                    queries: Sequence[int]) -> Dict[str, torch.Tensor]:
    """Pairwise rows of the ``queries`` (flat positions of ``x``) and the unary
    map, as ``(N, P, h, w)`` / ``(N, h, w)`` over the key grid ``h x w``.

    The whitening means are taken over *all* positions, as in the block;
    only the rows asked for are formed (the full ``L x L`` matrix is not).
    """
    with torch.no_grad():
        source = x if block.downsample is None else block.downsample(x)
        grid = source.shape[2:]
        maps = {}
        if block.with_pairwise:
            query = whiten(_tokens(block.conv_query(x)), block.whiten)
            key = whiten(_tokens(block.conv_key(source)), block.whiten)
            query = query[:, list(queries)] * block.logit_scale
            logits = torch.bmm(query, key.transpose(1, 2))
            maps['pairwise'] = logits.softmax(dim=-1).unflatten(-1, grid)
        if block.with_unary:
            mask = _tokens(block.conv_mask(source))
            maps['unary'] = unary_weights(mask)[..., 0].unflatten(-1, grid)
    return maps


def _metainfo(batch: dict) -> dict:
    samples = batch.get('data_samples')
    return dict(samples[0].metainfo) if samples else {}


def to_input_pixels(points: Sequence[Point], meta: dict) -> List[Point]:
    """Points of the original image -> pixels of the resized model input."""
    if 'scale_factor' in meta:
        sx, sy = meta['scale_factor'][:2]
    elif 'ori_shape' in meta and 'img_shape' in meta:
        sy = meta['img_shape'][0] / meta['ori_shape'][0]
        sx = meta['img_shape'][1] / meta['ori_shape'][1]
    else:
        sx = sy = 1.0
    return [(x * sx, y * sy) for x, y in points]


def query_positions(points: Sequence[Point], input_hw: Sequence[int],
                    feature_hw: Sequence[int]) -> List[int]:
    """Flat feature-map positions of input pixels (row-major)."""
    positions = []
    for x, y in points:
        if not (0 <= x < input_hw[1] and 0 <= y < input_hw[0]):
            raise SystemExit(f'query point ({x:.0f}, {y:.0f}) in the model '
                             f'input lies outside its {input_hw[1]}x'
                             f'{input_hw[0]} pixels; pick points inside the '
                             'image.')
        row = min(int(y * feature_hw[0] / input_hw[0]), feature_hw[0] - 1)
        col = min(int(x * feature_hw[1] / input_hw[1]), feature_hw[1] - 1)
        positions.append(row * feature_hw[1] + col)
    return positions


def _upsample(attn: torch.Tensor, input_hw: Sequence[int],
              image_hw: Sequence[int]) -> np.ndarray:
    """A key-grid map stretched over the (padded) input, cut to the image."""
    up = F.interpolate(attn[None, None].float(), size=tuple(input_hw),
                       mode='bilinear', align_corners=False)[0, 0]
    return up[:image_hw[0], :image_hw[1]].cpu().numpy()


def display_image(img: torch.Tensor, image_hw: Sequence[int]) -> np.ndarray:
    """The resized image ``(C, H, W)`` the model saw (before normalisation),
    as RGB uint8."""
    img = img.permute(1, 2, 0).cpu().numpy()[:image_hw[0], :image_hw[1]]
    if img.shape[-1] == 3:
        img = img[..., ::-1]  # mmcv loads BGR
    return np.ascontiguousarray(img).astype(np.uint8)


def peak(attn: torch.Tensor) -> float:
    """How far a map over ``L`` positions is from uniform: ``max * L``."""
    return float(attn.max()) * attn.numel()


def save_png(fig, out: str, dpi: int = 100) -> None:
    """Save ``fig`` as a palette PNG (256 colours): heat maps over photos
    compress badly as full-colour PNGs."""
    import io

    from PIL import Image
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi)
    buffer.seek(0)
    Image.open(buffer).convert('RGB').quantize(colors=256).save(
        out, optimize=True)


def draw(image: np.ndarray, points: Sequence[Point], pairwise: np.ndarray,
         unary: np.ndarray, peaks: Dict[str, list], title: str,
         out: str) -> None:
    """Rows: image + query | pairwise map | unary map (maps overlaid, each
    coloured from its minimum to its maximum; ``peaks``: see :func:`peak`)."""
    rows = len(points)
    aspect = image.shape[1] / image.shape[0]
    size = 1.7
    fig, axes = plt.subplots(rows, 3, squeeze=False,
                             figsize=(3 * size * aspect, rows * size + 0.5),
                             layout='constrained')
    for r, (x, y) in enumerate(points):
        panels = [(None, 'image, query', None), (None, 'pairwise', None),
                  (unary, 'unary', peaks.get('unary', [None])[0])]
        if pairwise is not None:
            panels[1] = (pairwise[r], 'pairwise (whitened)',
                         peaks['pairwise'][r])
        for c, (attn, name, top) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(image)
            if attn is not None:
                ax.imshow(attn, cmap='jet', alpha=0.6,
                          vmin=float(attn.min()), vmax=float(attn.max()))
                ax.set_xlabel(f'max {top:.2f}x uniform', fontsize=7)
            elif c:
                name += ': not in this block'
            ax.plot([x], [y], marker='*', color='white', markersize=11,
                    markeredgecolor='black')
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=9)
        axes[r, 0].set_ylabel(f'query ({x:.0f}, {y:.0f})', fontsize=8)
    fig.suptitle(title, fontsize=9)
    save_png(fig, out)
    plt.close(fig)


def main(argv=None) -> dict:
    """Write the figure; returns the drawn maps at the image's resolution
    (``pairwise``: one per point, ``unary``), the key-grid ``maps`` of
    :func:`query_attention`, the ``queries`` (flat positions) and the
    ``block_input``."""
    args = parse_args(argv)
    points = parse_points(args.points)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg, args.checkpoint, args.device)
    name, block = find_dnl_block(model, args.block)
    data = load_input(cfg, args.image)
    raw = data['inputs'][0].clone()
    x, batch = capture_block_input(model, block, data)
    meta = _metainfo(batch)
    input_hw = batch['inputs'].shape[-2:]
    image_hw = meta.get('img_shape', input_hw)[:2]
    in_points = to_input_pixels(points, meta)
    queries = query_positions(in_points, input_hw, x.shape[2:])
    maps = query_attention(block, x, queries)
    pairwise = None
    if 'pairwise' in maps:
        pairwise = np.stack([_upsample(m, input_hw, image_hw)
                             for m in maps['pairwise'][0]])
    unary = _upsample(maps['unary'][0], input_hw, image_hw) \
        if 'unary' in maps else None
    image = display_image(raw, image_hw)
    title = (f'{name}: {x.shape[2]}x{x.shape[3]} positions, whitening '
             f'{block.whiten}')
    peaks = {k: [peak(m) for m in v[0]] if k == 'pairwise' else [peak(v[0])]
             for k, v in maps.items()}
    draw(image, in_points, pairwise, unary, peaks, title, args.out)
    print(f'{name} ({len(points)} query points) -> {args.out}')
    return dict(pairwise=pairwise, unary=unary, maps=maps, queries=queries,
                block_input=x)


if __name__ == '__main__':
    main()
