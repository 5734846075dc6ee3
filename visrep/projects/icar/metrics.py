"""Metrics of the Kornblith 12-dataset protocol (Kornblith et al., CVPR 2019).

Top-1 accuracy is mmpretrain's ``Accuracy``; these add the other two:
mean-per-class accuracy (FGVC Aircraft, Oxford-IIIT Pets, Caltech-101,
Oxford 102 Flowers) and the 11-point interpolated mAP of PASCAL VOC 2007.
"""
from typing import List, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.evaluation.metrics.voc_multi_label import VOCMetricMixin

from visrep.registry import METRICS


@METRICS.register_module()
class MeanPerClassAccuracy(BaseMetric):
    """Mean over classes of the per-class top-1 accuracy (recall), in %.

    ``type='visrep.MeanPerClassAccuracy'``; classes absent from the ground
    truth are not averaged.  Key: ``mean_per_class/accuracy``.
    """

    default_prefix = 'mean_per_class'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample.get('pred_label')
            if pred is None:
                pred = sample['pred_score'].argmax(-1, keepdim=True)
            self.results.append((int(pred.flatten()[0]),
                                 int(sample['gt_label'].flatten()[0])))

    def compute_metrics(self, results: List[tuple]) -> dict:
        pred, gt = np.array(results).T
        per_class = [np.mean(pred[gt == c] == c) for c in np.unique(gt)]
        return dict(accuracy=float(np.mean(per_class)) * 100)


def eleven_point_ap(scores: np.ndarray, targets: np.ndarray) -> float:
    """VOC 2007 AP of one class: the mean over recall r in {0, 0.1, ..., 1}
    of the highest precision at recall >= r (0 where none).  ``targets``:
    1 positive, 0 negative, -1 ignored (difficult)."""
    keep = targets >= 0
    scores, targets = scores[keep], targets[keep]
    order = np.argsort(-scores, kind='stable')
    hits = targets[order] == 1
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / max(int(hits.sum()), 1)
    points = []
    for r in np.arange(11) / 10:  # exact tenths: recall 3/10 counts at 0.3
        above = precision[recall >= r - 1e-9]
        points.append(above.max() if len(above) else 0.0)
    return float(np.mean(points))


@METRICS.register_module()
class VOC07ElevenPointMAP(VOCMetricMixin, BaseMetric):
    """11-point interpolated mAP (%) of VOC 2007 classification.

    ``type='visrep.VOC07ElevenPointMAP'``; difficult-only labels are
    ignored as in the VOC devkit (``difficult_as_positive=None``; True/False
    count them as positive/negative).  Key: ``voc07/mAP_11point``.  Needs
    ``gt_label_difficult`` in the packed meta keys (mmpretrain's VOC test
    pipeline).
    """

    default_prefix = 'voc07'

    def compute_metrics(self, results: List[dict]) -> dict:
        scores = torch.stack([r['pred_score'].cpu() for r in results])
        targets = torch.stack([r['gt_score'].cpu() for r in results])
        scores, targets = scores.float().numpy(), targets.numpy()
        aps = [eleven_point_ap(scores[:, c], targets[:, c])
               for c in range(scores.shape[1]) if (targets[:, c] == 1).any()]
        return {'mAP_11point': float(np.mean(aps)) * 100}
