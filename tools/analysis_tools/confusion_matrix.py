#!/usr/bin/env python
"""Confusion matrix of a classifier (mmpretrain, mmaction) or a segmentor
(mmseg) on its test set, saved as a PNG (and ``--out-matrix`` as .npy).

Rows are the ground-truth classes, columns the predicted ones, as
mmpretrain's :class:`~mmpretrain.evaluation.ConfusionMatrix` computes and
plots it (``calculate`` / ``plot``, reused here):

* classification: one count per sample (its top-1 prediction: ``pred_label``,
  else the arg-max of ``pred_score`` as mmaction stores it);
* segmentation: one count per pixel whose ground truth is not the
  evaluator's ``ignore_index`` (255 by default), the pixels mmseg's
  ``IoUMetric`` scores.

The predictions come from the checkpoint run over ``test_dataloader``
(``model.test_step``), or from a ``tools/test.py --out`` pickle (``.pkl``;
segmentation pickles need ``pred_sem_seg`` and ``gt_sem_seg``).  With more
than ``--max-plot-classes`` classes, the plot shows only those that occur
in the ground truth or the predictions (the saved matrix keeps all).

    python tools/analysis_tools/confusion_matrix.py CONFIG CKPT_OR_PKL \\
        --out cm.png [--out-matrix cm.npy] [--include-values]
"""
import argparse
import logging
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

import visrep  # noqa: F401  (compatibility layer, visrep registries)
from visrep.cli.common import run_cli
from visrep.cli.config_checks import ConfigError
from visrep.cli.toolkit_tools import (build_inference_model,
                                      build_split_dataset, build_split_loader,
                                      enter_toolkit, load_tool_config)

#: toolkits whose test predictions are class labels / label maps
CLASSIFIERS = ('mmpretrain', 'mmaction')
SEGMENTORS = ('mmseg', )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Confusion matrix of a classifier or a segmentor.')
    parser.add_argument('config',
                        help='config file or visrep::<plugin>/<name>.py')
    parser.add_argument('ckpt_or_result',
                        help='a checkpoint, or the .pkl of tools/test.py '
                        '--out')
    parser.add_argument('--out', default='confusion_matrix.png',
                        help='the PNG file')
    parser.add_argument('--out-matrix', help='also save the matrix (.npy)')
    parser.add_argument('--include-values', action='store_true',
                        help='write the counts in the cells')
    parser.add_argument('--max-plot-classes', type=int, default=30)
    parser.add_argument('--cmap', default='viridis')
    parser.add_argument('--device', default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config fields, key=value pairs')
    return parser.parse_args(argv)


def _field(sample: Any, key: str) -> Any:
    """``key`` of a data sample or of its ``to_dict()`` form; the ``data``
    of a pixel-data field."""
    value = sample.get(key) if hasattr(sample, 'get') else None
    if isinstance(value, dict):  # PixelData in dict form
        value = value.get('data')
    elif value is not None and hasattr(value, 'data') and \
            not isinstance(value, torch.Tensor):
        value = value.data
    return value


def class_pair(sample: Any) -> Tuple[int, int]:
    """``(ground truth, top-1 prediction)`` of a classification sample.

    Raises:
        ValueError: the sample has no single ground-truth label or no
            prediction.
    """
    pred = _field(sample, 'pred_label')
    if pred is None and _field(sample, 'pred_score') is not None:
        pred = torch.as_tensor(_field(sample, 'pred_score')).argmax()
    target = _field(sample, 'gt_label')
    if pred is None or target is None:
        raise ValueError('a sample without `gt_label` and `pred_label` / '
                         '`pred_score`: pass a classifier\'s test results.')
    target = torch.as_tensor(target).reshape(-1)
    if target.numel() != 1:
        raise ValueError(f'a sample with {target.numel()} ground-truth '
                         'labels: the confusion matrix is for single-label '
                         'classification.')
    return int(target[0]), int(torch.as_tensor(pred).reshape(-1)[0])


def segmentation_counts(samples: Iterable[Any], num_classes: int,
                        ignore_index: int) -> torch.Tensor:
    """Pixel counts (ground truth x prediction) over ``samples``, pixels
    labelled ``ignore_index`` left out (as mmseg's ``IoUMetric``)."""
    from mmpretrain.evaluation import ConfusionMatrix
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for sample in samples:
        pred, target = _field(sample, 'pred_sem_seg'), _field(
            sample, 'gt_sem_seg')
        if pred is None or target is None:
            raise ValueError(
                'a result without `pred_sem_seg` and `gt_sem_seg`: tools/'
                'test.py --out writes label maps for mmseg; pass the '
                'checkpoint instead.')
        pred = torch.as_tensor(pred).reshape(-1).long().cpu()
        target = torch.as_tensor(target).reshape(-1).long().cpu()
        keep = target != ignore_index
        matrix += ConfusionMatrix.calculate(pred[keep], target[keep],
                                            num_classes)
    return matrix


def classification_counts(samples: Iterable[Any],
                          num_classes: int) -> torch.Tensor:
    """Sample counts (ground truth x top-1 prediction)."""
    from mmpretrain.evaluation import ConfusionMatrix
    pairs = [class_pair(s) for s in samples]
    if not pairs:
        raise ValueError('no test results to count.')
    target, pred = (torch.tensor(v) for v in zip(*pairs))
    top = int(max(target.max(), pred.max()))
    if top >= num_classes:
        raise ValueError(f'label {top} is outside the {num_classes} '
                         'classes of the test dataset.')
    return ConfusionMatrix.calculate(pred, target, num_classes)


def predict(cfg: Config, checkpoint: str, device: Optional[str]) -> List:
    """The model's test-step outputs over ``test_dataloader``."""
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_inference_model(cfg, checkpoint, device)
    loader = build_split_loader(cfg, 'test')
    outputs = []
    progress = ProgressBar(len(loader.dataset))
    with torch.no_grad():
        for batch in loader:
            results = model.test_step(batch)
            outputs.extend(results)
            for _ in results:
                progress.update()
    return outputs


def _ignore_index(cfg: Config) -> int:
    evaluator = cfg.get('test_evaluator') or {}
    metrics = evaluator if isinstance(evaluator, list) else [evaluator]
    for metric in metrics:
        if isinstance(metric, dict) and 'ignore_index' in metric:
            return int(metric['ignore_index'])
    return 255


def confusion_matrix(cfg: Config, ckpt_or_result: str,
                     device: Optional[str] = None
                     ) -> Tuple[torch.Tensor, List[str]]:
    """The matrix (rows: ground truth) and the class names."""
    import mmengine
    toolkit = enter_toolkit(cfg)
    if toolkit not in CLASSIFIERS + SEGMENTORS:
        raise ConfigError(f'default_scope={toolkit!r}: the confusion matrix '
                          'is for classifiers (mmpretrain, mmaction) and '
                          'segmentors (mmseg).')
    dataset = build_split_dataset(cfg, toolkit, 'test')
    classes = list(dataset.metainfo.get('classes') or [])
    if ckpt_or_result.endswith(('.pkl', '.pickle')):
        samples = mmengine.load(ckpt_or_result)
    else:
        samples = predict(cfg, ckpt_or_result, device)
    num_classes = len(classes) or _model_classes(cfg)
    if not classes:
        classes = [str(i) for i in range(num_classes)]
    try:
        if toolkit in SEGMENTORS:
            matrix = segmentation_counts(samples, num_classes,
                                         _ignore_index(cfg))
        else:
            matrix = classification_counts(samples, num_classes)
    except ValueError as err:
        raise ConfigError(f'{ckpt_or_result}: {err}') from None
    return matrix, classes


def _model_classes(cfg: Config) -> int:
    """``num_classes`` of the model's head (datasets without class names,
    such as the video ones)."""
    for head in ('head', 'cls_head', 'decode_head'):
        if 'num_classes' in cfg.model.get(head, {}):
            return int(cfg.model[head]['num_classes'])
    raise ConfigError('the test dataset has no `classes` and the model no '
                      'head.num_classes / cls_head.num_classes.')


def plot(matrix: torch.Tensor, classes: Sequence[str], out: str,
         include_values: bool, max_classes: int, cmap: str) -> List[int]:
    """Save mmpretrain's plot of ``matrix``; returns the plotted classes
    (those occurring, when there are more than ``max_classes``)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from mmpretrain.evaluation import ConfusionMatrix
    shown = list(range(len(classes)))
    if len(classes) > max_classes:
        occurs = (matrix.sum(0) + matrix.sum(1)) > 0
        shown = torch.nonzero(occurs).flatten().tolist()
    sub = matrix[shown][:, shown]
    fig = ConfusionMatrix.plot(sub, include_values=include_values, cmap=cmap,
                               classes=[classes[i] for i in shown],
                               show=False)
    fig.axes[0].set_title(f'confusion matrix ({int(matrix.sum())} counts'
                          + (f', {len(shown)} of {len(classes)} classes '
                             'occur' if len(shown) < len(classes) else '')
                          + ')')
    fig.savefig(out, dpi=100, bbox_inches='tight')
    plt.close(fig)
    return shown


def main(argv: Optional[Sequence[str]] = None) -> torch.Tensor:
    """Command line entry; returns the matrix."""
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    matrix, classes = confusion_matrix(cfg, args.ckpt_or_result, args.device)
    plot(matrix, classes, args.out, args.include_values,
         args.max_plot_classes, args.cmap)
    if args.out_matrix:
        np.save(args.out_matrix, matrix.numpy())
    accuracy = float(matrix.diag().sum()) / max(int(matrix.sum()), 1)
    print_log(f'confusion matrix: {int(matrix.sum())} counts, diagonal '
              f'(accuracy) {accuracy:.4f} -> {args.out}', logger='current',
              level=logging.INFO)
    return matrix


if __name__ == '__main__':
    run_cli(main)
