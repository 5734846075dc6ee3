#!/usr/bin/env python
"""FLOPs and parameters of any config of the four toolkits, mmengine's counter.

The model is built from the config in its toolkit's scope (``default_scope``:
mmpretrain, mmdet, mmseg or mmaction), run once on a random input of the
config's test size (or ``--shape``) through its data preprocessor, and
counted by mmengine's counter (:class:`mmengine.analysis.FlopAnalyzer` and
``parameter_count``, what ``get_model_complexity_info`` runs): one
multiply-add is one FLOP (the convention of the Swin / ResNet papers);
operators it has no formula for (softmax, GELU, additions, ...) count zero
and are listed under "not counted".

What runs is the model's inference forward without post-processing
(``mode='tensor'``): a classifier's backbone, neck and head; a segmentor's
backbone and decode head (its auxiliary head, used in training only, is
removed first, as mmseg's get_flops does); a detector's backbone, neck, RPN
and RoI heads on the proposals of the random image (the test config's
maximum numbers of proposals and detections, usually); a recognizer's
backbone and head for one view (FLOPs per view, as the video papers report
them); a self-supervised model's feature extractor; iCAR's image encoder and
projection (its class prototypes come from the text encoder once per class
set).  ``params`` counts every parameter of the counted model.

    python tools/analysis_tools/get_flops.py \
        configs/swin_v2/swinv2-tiny-w8_16xb64_in1k-256px.py
    python tools/analysis_tools/get_flops.py CONFIG --shape 512 --out f.json
    python tools/analysis_tools/get_flops.py VIDEO_CONFIG --shape 8 256 256
    python tools/analysis_tools/get_flops.py CONFIG \
        --cfg-options model.backbone.depth=18 --show-table
"""
import argparse
import importlib
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

import visrep  # noqa: F401  (compatibility layer, visrep registries)
from visrep.cli.common import TOOLKITS, toolkit_of
from visrep.cli.config_checks import ConfigError
from visrep.cli.toolkit_tools import load_tool_config

#: sides used when neither ``--shape`` nor the config gives an input size
FALLBACK_SHAPES = {
    'mmpretrain': (224, 224),
    'mmseg': (512, 512),
    'mmdet': (800, 1333),
    'mmaction': (8, 224, 224),
}

#: pipeline transforms whose size is the network input, most specific first
_CROP_KEYS = (('CenterCrop', 'crop_size'), ('ThreeCrop', 'crop_size'),
              ('TenCrop', 'crop_size'), ('RandomResizedCrop', 'scale'),
              ('RandomResizedCrop', 'size'), ('RandomCrop', 'crop_size'))
_RESIZE_KEYS = (('Resize', 'scale'), ('ResizeEdge', 'scale'),
                ('Resize', 'size'))
#: sizes given as (h, w); mmcv's and the other transforms' are (w, h)
_HEIGHT_FIRST = {('mmseg', 'RandomCrop'), ('mmpretrain', 'RandomResizedCrop')}


#: what the traced forward covers, per toolkit
COUNTED = {
    'mmpretrain': "forward(mode='tensor'): backbone, neck and head",
    'selfsup': "forward(mode='tensor'): the self-supervised model's feature "
    'extractor (extract_feat)',
    'mmseg': "forward(mode='tensor'): backbone and decode head (the "
    'auxiliary head is removed)',
    'mmdet': "forward(mode='tensor'): backbone, neck, RPN and RoI heads on "
    "the random image's proposals",
    'mmaction': "forward(mode='tensor', stage='head'): backbone, neck and "
    'head, one view',
    'text_classifier': "extract_feat(stage='embedding'): image encoder and "
    'projection (the class prototypes of the text encoder are computed once '
    'per class set, not per image)',
}


@dataclass
class Complexity:
    """What the counter measured for one config and input."""

    config: str
    toolkit: str
    input_shape: List[int]
    shape_source: str
    flops: int
    params: int
    counted: str
    not_counted: Dict[str, int] = field(default_factory=dict)
    table: str = field(default='', repr=False)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='FLOPs (multiply-adds) and parameters of a config of any '
        'of the four toolkits, with mmengine\'s counter.')
    parser.add_argument('config',
                        help='config file or visrep::<plugin>/<name>.py')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=None,
        help='input size: S (S x S), H W, or T H W for video (per view); '
        "default: the config's test crop / resize")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config fields, key=value pairs, e.g. '
        'model.backbone.depth=18')
    parser.add_argument('--out', help='also write the numbers to this .json')
    parser.add_argument(
        '--show-table', action='store_true',
        help="print mmengine's per-module FLOPs / params table")
    return parser.parse_args(argv)


def load_config(path: str,
                cfg_options: Optional[Dict[str, Any]] = None) -> Config:
    """The config file (or ``visrep::<plugin>/<name>.py``) with
    ``--cfg-options`` merged in."""
    cfg = load_tool_config(path, cfg_options)
    if 'model' not in cfg:
        raise ConfigError(f'{path}: the config has no `model` field; '
                          'get_flops counts the model a config builds.')
    return cfg


def build_model(cfg: Config, toolkit: str) -> torch.nn.Module:
    """``cfg.model`` built in the toolkit's scope, in eval mode, without
    SyncBN and training-only heads; weights are not loaded (``init_cfg`` is
    not applied: the count does not depend on them)."""
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    init_default_scope(toolkit)
    package = TOOLKITS[toolkit][0]
    registry = importlib.import_module(f'{package}.registry').MODELS
    model = registry.build(cfg.model)
    if toolkit == 'mmseg' and getattr(model, 'auxiliary_head', None):
        model.auxiliary_head = None
    model = revert_sync_batchnorm(model)
    return model.eval()


def _transforms(node: Any) -> Iterator[dict]:
    """Every transform dict in a (possibly nested) pipeline or dataset."""
    if isinstance(node, dict):
        if 'type' in node and isinstance(node['type'], str):
            yield node
        for value in node.values():
            yield from _transforms(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _transforms(item)


def _side_pair(value: Any, w_first: bool) -> Optional[Tuple[int, int]]:
    """(H, W) from an int or a pair; ``w_first`` for mmcv's (w, h) scales.
    A -1 side (keep ratio) or a non-int gives None."""
    if isinstance(value, int):
        return (value, value) if value > 0 else None
    if isinstance(value, (list, tuple)) and len(value) == 2 and \
            all(isinstance(v, int) and v > 0 for v in value):
        w, h = (value[0], value[1]) if w_first else (value[1], value[0])
        return h, w
    return None


def _pipeline_sides(cfg: Config,
                    toolkit: str) -> Optional[Tuple[Tuple[int, int], str]]:
    """The (H, W) of the first crop (else resize) in the test, val or train
    pipeline, and where it came from."""
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        transforms = list(_transforms(cfg.get(loader, {}).get('dataset', {})))
        for keys in (_CROP_KEYS, _RESIZE_KEYS):
            for kind, key in keys:
                for t in transforms:
                    if t['type'].split('.')[-1] != kind or key not in t:
                        continue
                    w_first = (toolkit, kind) not in _HEIGHT_FIRST
                    sides = _side_pair(t[key], w_first)
                    if sides:
                        return sides, f'{loader} {kind}.{key}'
    return None


def _clip_len(cfg: Config) -> Optional[Tuple[int, str]]:
    """Frames per clip of the first frame sampler, and where it came from."""
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        for t in _transforms(cfg.get(loader, {}).get('dataset', {})):
            if t['type'].split('.')[-1] in ('SampleFrames',
                                            'UniformSample') \
                    and isinstance(t.get('clip_len'), int):
                return t['clip_len'], f'{loader} {t["type"]}.clip_len'
    return None


def _requested_shape(cfg: Config, toolkit: str,
                     shape: Sequence[int]) -> Tuple[int, ...]:
    """``--shape``: S, H W, or T H W for video (T from the config if left
    out)."""
    video = toolkit == 'mmaction'
    shape = tuple(int(s) for s in shape)
    if any(s <= 0 for s in shape):
        raise ConfigError(f'--shape {shape}: sides must be positive.')
    if len(shape) == 1:
        shape = shape * 2
    if video and len(shape) == 2:
        clip = _clip_len(cfg)
        shape = (clip[0] if clip else FALLBACK_SHAPES[toolkit][0], ) + shape
    if len(shape) != (3 if video else 2):
        want = 'T H W (or H W with T from the config)' if video else \
            'S or H W'
        raise ConfigError(f'--shape {" ".join(map(str, shape))}: '
                          f'a {toolkit} model takes {want}.')
    return shape


def _config_shape(cfg: Config, toolkit: str) -> Tuple[Tuple[int, ...], str]:
    """The config's input size (segmentors: ``crop_size``; others: the test
    pipeline's crop, else its resize; else :data:`FALLBACK_SHAPES`)."""
    sides, source = None, 'default'
    crop = cfg.get('crop_size') if toolkit == 'mmseg' else None
    if crop is not None and _side_pair(crop, w_first=False):
        sides, source = _side_pair(crop, w_first=False), 'crop_size'
    if sides is None:
        found = _pipeline_sides(cfg, toolkit)
        if found:
            sides, source = found
    if sides is None:
        sides = FALLBACK_SHAPES[toolkit][-2:]
    if toolkit != 'mmaction':
        return tuple(sides), source
    clip = _clip_len(cfg)
    frames = clip[0] if clip else FALLBACK_SHAPES[toolkit][0]
    if clip:
        source = f'{source}; {clip[1]}'
    return (frames, ) + tuple(sides), source


def input_shape(cfg: Config, toolkit: str,
                shape: Optional[Sequence[int]]) -> Tuple[Tuple[int, ...], str]:
    """The input size, ``(H, W)`` or ``(T, H, W)`` for video, and its source:
    ``--shape`` if given, else the config's."""
    if shape:
        return _requested_shape(cfg, toolkit, shape), '--shape'
    return _config_shape(cfg, toolkit)


def _data_sample(toolkit: str, sides: Tuple[int, int]):
    """The meta information a toolkit's data preprocessor and heads read."""
    meta = dict(img_shape=sides, ori_shape=sides, pad_shape=sides,
                scale_factor=(1.0, 1.0))
    if toolkit == 'mmdet':
        from mmdet.structures import DetDataSample
        return DetDataSample(metainfo=meta)
    if toolkit == 'mmseg':
        from mmseg.structures import SegDataSample
        return SegDataSample(metainfo=meta)
    if toolkit == 'mmaction':
        from mmaction.structures import ActionDataSample
        return ActionDataSample()
    from mmpretrain.structures import DataSample
    return DataSample()


def _takes_stacked_batch(preprocessor: torch.nn.Module) -> bool:
    """mmpretrain's self-supervised preprocessors take the batch collated
    by ``default_collate`` (one stacked tensor), the others a list."""
    from mmpretrain.models.utils.data_preprocessor import \
        SelfSupDataPreprocessor
    return isinstance(preprocessor, SelfSupDataPreprocessor)


def dummy_inputs(model: torch.nn.Module, toolkit: str,
                 shape: Tuple[int, ...]) -> Tuple[Any, Any]:
    """A random 0-255 image (or clip) of ``shape`` after the model's data
    preprocessor (normalisation, padding), and its data samples."""
    generator = torch.Generator().manual_seed(0)
    if toolkit == 'mmaction':
        fmt = getattr(model.data_preprocessor, 'format_shape', 'NCTHW')
        t, h, w = shape
        size = (1, 3, t, h, w) if fmt == 'NCTHW' else (t, 3, h, w)
    else:
        size = (3, ) + tuple(shape)
    raw = torch.rand(size, generator=generator) * 255
    batch = {'inputs': [raw],
             'data_samples': [_data_sample(toolkit, tuple(shape[-2:]))]}
    if toolkit == 'mmpretrain' and \
            _takes_stacked_batch(model.data_preprocessor):
        batch['inputs'] = raw[None]
    data = model.data_preprocessor(batch, False)
    return data['inputs'], data.get('data_samples')


def tensor_forward(model: torch.nn.Module, toolkit: str,
                   data_samples: Any) -> Tuple[Callable, str]:
    """The model's inference forward without post-processing, for tracing,
    and what it covers."""
    forward = model.forward
    if toolkit == 'mmaction':
        return (lambda inputs: forward(inputs, mode='tensor', stage='head'),
                COUNTED[toolkit])
    if toolkit == 'mmpretrain' and hasattr(model, 'text_classifier'):
        # iCAR: the class prototypes come from the text encoder once per
        # class set (cached at test), not per image
        return (lambda inputs: model.extract_feat(inputs, stage='embedding'),
                COUNTED['text_classifier'])
    counted = COUNTED[toolkit]
    if toolkit == 'mmpretrain':
        from mmpretrain.models.selfsup import BaseSelfSupervisor
        if isinstance(model, BaseSelfSupervisor):
            counted = COUNTED['selfsup']
    return (lambda inputs: forward(inputs, data_samples, mode='tensor'),
            counted)


def count(cfg: Config, config_path: str,
          shape: Optional[Sequence[int]] = None,
          show_table: bool = False) -> Complexity:
    """Build the config's model and count its FLOPs and parameters.

    mmengine's :class:`~mmengine.analysis.FlopAnalyzer` and
    :func:`~mmengine.analysis.parameter_count`, the counters
    ``get_model_complexity_info`` runs, used directly so that the graph is
    traced once and the operators it could not count are reported instead
    of logged one warning each.
    """
    from mmengine.analysis import FlopAnalyzer, parameter_count
    from mmengine.analysis.print_helper import complexity_stats_table
    toolkit = toolkit_of(cfg)
    sides, source = input_shape(cfg, toolkit, shape)
    model = build_model(cfg, toolkit)
    inputs, data_samples = dummy_inputs(model, toolkit, sides)
    model.forward, counted = tensor_forward(model, toolkit, data_samples)
    print_log(f'get_flops: tracing one forward of {config_path} at input '
              f'{tuple(inputs.shape)} (large models take minutes)',
              logger='current', level=logging.INFO)
    analyzer = FlopAnalyzer(model, (inputs, ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        flops = analyzer.total()
    table = complexity_stats_table(analyzer, show_param_shapes=False) \
        if show_table else ''
    return Complexity(
        config=config_path, toolkit=toolkit,
        input_shape=list(inputs.shape), shape_source=source,
        flops=int(flops), params=int(parameter_count(model)['']),
        counted=counted,
        not_counted=dict(sorted(analyzer.unsupported_ops().items())),
        table=table)


def _human(value: int) -> str:
    for unit, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(value) >= scale:
            return f'{value / scale:.3f} {unit}'
    return str(value)


def format_report(result: Complexity) -> str:
    """A two-column table of the numbers."""
    rows = [
        ('config', result.config),
        ('toolkit', result.toolkit),
        ('input shape', f'{tuple(result.input_shape)} '
         f'(size from {result.shape_source})'),
        ('FLOPs (multiply-adds)', f'{_human(result.flops)} ({result.flops})'),
        ('params', f'{_human(result.params)} ({result.params})'),
        ('counted', result.counted),
        ('not counted', ', '.join(f'{op} x{n}' for op, n in
                                  result.not_counted.items()) or '-'),
    ]
    width = max(len(name) for name, _ in rows)
    line = '-' * (width + 2) + '+' + '-' * 60
    body = [f'{name:<{width}}  | {value}' for name, value in rows]
    return '\n'.join([line, *body, line])


def main(argv: Optional[Sequence[str]] = None) -> Complexity:
    """Command line entry: print the table (and write ``--out``)."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    result = count(cfg, args.config, args.shape, args.show_table)
    if args.show_table:
        print(result.table)
    print(format_report(result))
    print('One multiply-add counts as one FLOP; the operators under "not '
          'counted" add nothing.')
    if args.out:
        record = asdict(result)
        record.pop('table')
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=2)
    return result


if __name__ == '__main__':
    try:
        main()
    except ConfigError as err:
        print(f'config error: {err}', file=sys.stderr)
        sys.exit(2)
