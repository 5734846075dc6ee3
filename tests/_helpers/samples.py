"""mmpretrain data samples for model-level tests."""
from typing import List, Optional, Sequence


def labelled_samples(labels: Sequence[int],
                     captions: Optional[Sequence[Optional[str]]] = None
                     ) -> List:
    """One ``DataSample`` per label (``-1``: none), with the ``caption``
    field set where ``captions`` gives one (None: no caption)."""
    from mmpretrain.structures import DataSample
    samples = []
    for i, label in enumerate(labels):
        sample = DataSample().set_gt_label(label)
        if captions is not None and captions[i] is not None:
            sample.set_field(captions[i], 'caption')
        samples.append(sample)
    return samples
