#!/usr/bin/env python
"""Write a dataset's samples, after its pipeline, with their annotations
drawn by the toolkit's own visualizer, as the toolkits'
``browse_dataset.py`` do:

* mmpretrain: the class label (``UniversalVisualizer.visualize_cls``);
* mmdet: boxes and masks (``DetLocalVisualizer.add_datasample``);
* mmseg: the label map over the image (``SegLocalVisualizer``);
* mmaction: the clip's frames in one grid image, each with the label
  (``ActionVisualizer.add_datasample``).

One PNG per sample in ``--output-dir``; the pipeline is the split's
(``train`` by default: its augmentations are what the model sees).

    python tools/analysis_tools/browse_dataset.py CONFIG \\
        --output-dir browse/ [--split val] [--max-items 20]
"""
import argparse
import math
import os
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar

import visrep  # noqa: F401  (compatibility layer, visrep registries)
from visrep.cli.common import run_cli
from visrep.cli.config_checks import ConfigError
from visrep.cli.toolkit_tools import (build_split_dataset, enter_toolkit,
                                      load_tool_config, loader_cfg,
                                      tensor_image, toolkit_registry)

#: small images are enlarged to this short side so the drawn text is legible
MIN_SIDE = 256


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write dataset samples with their annotations drawn.')
    parser.add_argument('config',
                        help='config file or visrep::<plugin>/<name>.py')
    parser.add_argument('--output-dir', required=True,
                        help='where the PNG files go')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--max-items', type=int, default=None,
                        help='stop after this many samples (default: all)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config fields, key=value pairs')
    return parser.parse_args(argv)


def build_visualizer(cfg: Config, toolkit: str, dataset_meta: dict):
    """The config's visualizer (else the toolkit's default one), drawing
    only: no storage backends."""
    defaults = {'mmpretrain': 'UniversalVisualizer',
                'mmdet': 'DetLocalVisualizer',
                'mmseg': 'SegLocalVisualizer',
                'mmaction': 'ActionVisualizer'}
    vis_cfg = dict(cfg.get('visualizer') or dict(type=defaults[toolkit]))
    vis_cfg.update(vis_backends=None, save_dir=None,
                   name=f'browse_dataset_{id(dataset_meta)}')
    visualizer = toolkit_registry(toolkit, 'VISUALIZERS').build(vis_cfg)
    visualizer.dataset_meta = dataset_meta
    return visualizer


def _enlarge(side: int) -> Optional[float]:
    return MIN_SIDE / side if side < MIN_SIDE else None


def side_by_side(images: Sequence[np.ndarray]) -> np.ndarray:
    """Images next to each other, top-aligned on a black canvas."""
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    left = 0
    for image in images:
        canvas[:image.shape[0], left:left + image.shape[1]] = image
        left += image.shape[1]
    return canvas


def draw_classification(visualizer, item: dict, out_file: str,
                        original_frame: bool = False) -> None:
    """The label on the image; the views of a self-supervised sample
    (MoBY's two crops) side by side."""
    views = item['inputs']
    if isinstance(views, (list, tuple)):
        image = side_by_side([tensor_image(view) for view in views])
    else:
        image = tensor_image(views)
    visualizer.visualize_cls(
        image, item['data_samples'],
        classes=visualizer.dataset_meta.get('classes'), draw_pred=False,
        rescale_factor=_enlarge(min(image.shape[:2])), out_file=out_file)


def annotations_after_resize(pipeline: Sequence[dict]) -> bool:
    """Whether the pipeline loads the annotations after resizing the
    image (mmdet's and mmseg's test pipelines: the ground truth stays in
    the original image's frame, where the metrics compare it)."""
    names = [str(t.get('type', '')).split('.')[-1] for t in pipeline]
    loads = [k for k, n in enumerate(names) if n.startswith('LoadAnnotation')]
    resizes = [k for k, n in enumerate(names) if 'Resize' in n]
    return bool(loads and resizes and min(resizes) < min(loads))


def sample_image(item: dict, original_frame: bool) -> np.ndarray:
    """The packed image, resized back to ``ori_shape`` when the
    annotations are in the original frame."""
    import mmcv
    image = tensor_image(item['inputs'])
    shape = item['data_samples'].metainfo.get('ori_shape')
    if original_frame and shape and tuple(shape[:2]) != image.shape[:2]:
        image = mmcv.imresize(image, (int(shape[1]), int(shape[0])))
    return image


def draw_detection(visualizer, item: dict, out_file: str,
                   original_frame: bool = False) -> None:
    """Boxes as a tensor and masks as a bool array: what
    ``DetLocalVisualizer`` draws (the pipeline packs box / mask objects)."""
    from mmdet.models.utils import mask2ndarray
    from mmdet.structures.bbox import BaseBoxes
    sample = item['data_samples'].numpy()
    gt = sample.gt_instances
    if isinstance(gt.get('bboxes'), BaseBoxes):
        gt.bboxes = gt.bboxes.tensor
    if gt.get('masks') is not None:
        gt.masks = mask2ndarray(gt.masks).astype(bool)
    sample.gt_instances = gt
    visualizer.add_datasample(osp.basename(out_file),
                              sample_image(item, original_frame), sample,
                              draw_pred=False, out_file=out_file)


def draw_segmentation(visualizer, item: dict, out_file: str,
                      original_frame: bool = False) -> None:
    visualizer.add_datasample(osp.basename(out_file),
                              sample_image(item, original_frame),
                              item['data_samples'].numpy(), draw_pred=False,
                              out_file=out_file)


def clip_frames(inputs) -> np.ndarray:
    """The first clip of a packed video sample as (T, H, W, 3) uint8 RGB
    (mmaction decodes RGB): ``(N, C, T, H, W)`` or ``(N*T, C, H, W)``."""
    array = inputs.detach().cpu()
    if array.dim() == 5:
        array = array[0].permute(1, 2, 3, 0)
    elif array.dim() == 4:
        array = array.permute(0, 2, 3, 1)
    else:
        raise ValueError(f'a video sample of shape {tuple(array.shape)}: '
                         'expected (N, C, T, H, W) or (N*T, C, H, W)')
    return np.clip(array.numpy(), 0, 255).astype(np.uint8)[..., :3]


def frame_grid(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) frames tiled row by row into one image, ceil(sqrt(T))
    columns, unused cells black."""
    count, height, width = frames.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for k, frame in enumerate(frames):
        r, c = divmod(k, columns)
        grid[r * height:(r + 1) * height, c * width:(c + 1) * width] = frame
    return grid


def draw_video(visualizer, item: dict, out_file: str,
               original_frame: bool = False) -> None:
    """Each frame drawn with the label by ``ActionVisualizer``, tiled."""
    import mmcv
    sample = item['data_samples']
    # mmaction 1.2's visualizer tests for a `gt_labels` field but reads
    # `gt_label` (the field ActionDataSample has): give it both
    if 'gt_label' in sample and 'gt_labels' not in sample:
        sample.set_field(sample.gt_label, 'gt_labels')
    frames = clip_frames(item['inputs'])
    drawn = visualizer.add_datasample(
        osp.basename(out_file), list(frames), sample, draw_pred=False,
        rescale_factor=_enlarge(min(frames.shape[1:3])))
    mmcv.imwrite(frame_grid(np.asarray(drawn))[..., ::-1], out_file)


#: toolkit -> draw(visualizer, item, out_file, original_frame)
DRAW: Dict[str, Callable[[Any, dict, str, bool], None]] = {
    'mmpretrain': draw_classification,
    'mmdet': draw_detection,
    'mmseg': draw_segmentation,
    'mmaction': draw_video,
}


def _out_name(index: int, info: dict) -> str:
    """``<index>_<source file stem>.png`` (the index keeps names unique)."""
    source = info.get('img_path') or info.get('filename') or ''
    stem = osp.splitext(osp.basename(str(source)))[0]
    return f'{index:05d}_{stem}.png' if stem else f'{index:05d}.png'


def browse(cfg: Config, split: str, output_dir: str,
           max_items: Optional[int] = None) -> List[str]:
    """Draw the split's samples into ``output_dir``; returns the files."""
    toolkit = enter_toolkit(cfg)
    dataset = build_split_dataset(cfg, toolkit, split)
    if max_items is not None and max_items < 1:
        raise ConfigError('--max-items must be >= 1.')
    count = len(dataset) if max_items is None else min(max_items,
                                                       len(dataset))
    if count == 0:
        raise ConfigError(f'{split}_dataloader.dataset is empty.')
    visualizer = build_visualizer(cfg, toolkit, dataset.metainfo)
    original_frame = annotations_after_resize(
        loader_cfg(cfg, split)['dataset'].get('pipeline', []))
    os.makedirs(output_dir, exist_ok=True)
    written = []
    progress = ProgressBar(count)
    for index in range(count):
        item = dataset[index]
        out_file = osp.join(output_dir,
                            _out_name(index, dataset.get_data_info(index)))
        DRAW[toolkit](visualizer, item, out_file, original_frame)
        written.append(out_file)
        progress.update()
    return written


def main(argv: Optional[Sequence[str]] = None) -> List[str]:
    """Command line entry; returns the written files."""
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    written = browse(cfg, args.split, args.output_dir, args.max_items)
    print(f'\n{len(written)} images -> {args.output_dir}')
    return written


if __name__ == '__main__':
    run_cli(main)
