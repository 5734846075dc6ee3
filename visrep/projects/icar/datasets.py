"""Datasets of the iCAR recipes: image-caption pairs and k-shot subsets."""
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path

from visrep.registry import DATASETS


@DATASETS.register_module()
class ImageCaptionDataset(BaseDataset):
    """Image-caption pairs, one per line: ``<image path><TAB><caption>``.

    ``type='visrep.ImageCaptionDataset'``.  Paths are relative to
    ``data_root/data_prefix['img_path']``; an image may appear on several
    lines (several captions).  Every sample has ``gt_label = -1`` (no class)
    and a ``caption``; pack it with
    ``dict(type='PackInputs', algorithm_keys=['caption'])``.
    """

    METAINFO = dict(classes=None)

    def __init__(self, ann_file: str, data_root: str = '',
                 data_prefix: Union[str, dict] = '', **kwargs):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'ann_file={self.ann_file!r} does not exist: it lists '
                '"<image path>\\t<caption>" per line (the small set: '
                'python tools/dataset_converters/make_small_datasets.py '
                'imagenet_captions).')
        prefix = self.data_prefix.get('img_path', '')
        data_list = []
        with get_local_path(self.ann_file) as local, open(local) as f:
            for number, line in enumerate(f, 1):
                line = line.rstrip('\n')
                if not line.strip():
                    continue
                path, sep, caption = line.partition('\t')
                if not sep or not caption.strip():
                    raise ValueError(
                        f'{self.ann_file}:{number}: expected "<image path>'
                        f'<TAB><caption>", got {line[:120]!r}')
                data_list.append(dict(img_path=osp.join(prefix, path),
                                      caption=caption.strip(), gt_label=-1))
        return data_list


@DATASETS.register_module()
class KShotDataset:
    """``shots`` samples per class of a classification dataset (few-shot).

    ``type='visrep.KShotDataset'``; the samples are drawn per class with
    ``seed`` (a class with fewer samples keeps all of them).
    """

    def __init__(self, dataset: Union[dict, BaseDataset], shots: int,
                 seed: int = 0):
        if shots < 1:
            raise ValueError(f'shots={shots}: must be >= 1.')
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        self.shots = shots
        self.seed = seed
        self.dataset.full_init()
        by_class = defaultdict(list)
        for idx in range(len(self.dataset)):
            for cat in self.dataset.get_cat_ids(idx):
                by_class[int(cat)].append(idx)
        rng = np.random.default_rng(seed)
        picked: List[int] = []
        for cat in sorted(by_class):
            members = by_class[cat]
            order = rng.permutation(len(members))[:shots]
            picked += [members[i] for i in sorted(order)]
        self.indices = sorted(set(picked))

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        pass

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self.indices[idx])

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.dataset.get_cat_ids(self.indices[idx])

    def __getitem__(self, idx: int) -> dict:
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return (f'KShotDataset(shots={self.shots}, seed={self.seed}, '
                f'{len(self)} of {len(self.dataset)} samples)')


def unwrap_dataset(dataset) -> Optional[object]:
    """The first wrapped dataset whose metainfo lists ``classes``."""
    seen = [dataset]
    while seen:
        ds = seen.pop(0)
        classes = getattr(ds, 'metainfo', {}).get('classes')
        if classes:
            return ds
        seen += list(getattr(ds, 'datasets', []))
        if getattr(ds, 'dataset', None) is not None:
            seen.append(ds.dataset)
    return None
