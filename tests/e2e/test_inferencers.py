"""Each toolkit's own inferencer, with our config and a small-data
checkpoint, predicts what ``tools/test.py --out`` predicts for the same
input.

One test per toolkit, each on a config built from our modules:

* mmpretrain ``ImageClassificationInferencer``: iCAR with a Swin V2
  backbone, zero-shot on the held-out classes;
* mmdet ``DetInferencer``: Mask R-CNN with Cross-Iteration BN;
* mmseg ``MMSegInferencer``: iCAR's open-vocabulary FCN head;
* mmaction2 ``ActionRecogInferencer``: Video Swin V2.

The checkpoint comes from a two-iteration run of ``tools/train.py``'s
``main`` (in this process, to spare an interpreter start); ``tools/test.py``
runs as users run it.  Where the inferencer deliberately differs from
``tools/test.py`` (mmdet pads a batch, mmaction2 drops the multi-view test),
``tools/test.py`` gets the inferencer's setting, and the test says so.
"""
import copy
import os.path as osp
import pickle
from typing import Dict, List, Sequence

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from _helpers import REPO_ROOT, last_checkpoint, run_tool

pytestmark = pytest.mark.e2e

CONFIGS = osp.join(REPO_ROOT, 'configs')
CLS_CONFIG = osp.join(
    CONFIGS, 'icar', 'icar_swinv2-tiny_cls-only_small-imagenet-captions.py')
DET_CONFIG = osp.join(CONFIGS, 'cbn', 'mask-rcnn_r18_fpn_cbn_small-coco.py')
SEG_CONFIG = osp.join(CONFIGS, 'icar', 'icar-head_fcn-r18-d8_small-ade20k.py')
VIDEO_CONFIG = osp.join(
    CONFIGS, 'video_swin_v2', 'small',
    'video-swinv2-micro-p244-w477_small-kinetics400.py')

#: no loader processes: a few batches load faster in the main process
NO_WORKERS = ('num_workers=0', 'persistent_workers=False')


@pytest.fixture(autouse=True)
def in_small_data_cwd(small_data_cwd, monkeypatch):
    """Configs read ``data/...`` from the current directory (the in-process
    training and the test set's file list)."""
    monkeypatch.chdir(small_data_cwd)


def loader_options(*loaders: str) -> List[str]:
    """``--cfg-options`` that load ``loaders`` without worker processes."""
    return [f'{loader}.{option}' for loader in loaders
            for option in NO_WORKERS]


def train(config: str, work_dir: str, options: Sequence[str]) -> str:
    """A checkpoint from ``tools/train.py``'s code path, run in this process
    (no validation, no loader workers); returns its path."""
    from visrep.cli.train import main
    main([config, '--work-dir', work_dir, '--no-validate', '--seed', '0',
          '--cfg-options', *loader_options('train_dataloader'), *options])
    return osp.join(work_dir, osp.basename(last_checkpoint(work_dir)))


def run_test_tool(config: str, checkpoint: str, cwd: str, work_dir: str,
                  out: str, options: Sequence[str]) -> None:
    """``tools/test.py CONFIG CHECKPOINT --out OUT`` in a subprocess."""
    run_tool(['tools/test.py', config, checkpoint, '--work-dir', work_dir,
              '--out', out, '--cfg-options',
              *loader_options('test_dataloader'), *options], cwd=cwd)


def build_test_set(cfg: Config, indices: int):
    """The config's test set, its first ``indices`` samples, no pipeline."""
    from mmengine.registry import DATASETS, DefaultScope
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg.update(indices=indices, pipeline=[])
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return DATASETS.build(dataset_cfg)


def dataset_files(cfg: Config, indices: int, cwd: str) -> List[str]:
    """The files of the first ``indices`` samples of the config's test set,
    in the order ``tools/test.py`` runs them (absolute paths)."""
    dataset = build_test_set(cfg, indices)
    files = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        files.append(osp.join(cwd, info.get('img_path') or info['filename']))
    return files


def as_options(options: Dict[str, object]) -> List[str]:
    """``--cfg-options`` arguments of a flat ``{key: value}``."""
    return [f'{key}={value}' for key, value in options.items()]


def with_options(config: str, options: Dict[str, object]) -> Config:
    """The config with ``options`` merged, as ``--cfg-options`` does."""
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    return cfg


def test_image_classification_inferencer(small_data_cwd, tmp_path):
    """iCAR (Swin V2, text classifier) zero-shot on the held-out classes:
    the same scores, and ``pred_class`` names a held-out class."""
    from mmpretrain import ImageClassificationInferencer
    cwd, n = small_data_cwd, 8
    checkpoint = train(CLS_CONFIG, str(tmp_path / 'train'), [
        'train_cfg.max_iters=2', 'train_dataloader.batch_size=8',
        'default_hooks.checkpoint.interval=2'])
    out = str(tmp_path / 'preds.pkl')
    run_test_tool(CLS_CONFIG, checkpoint, cwd, str(tmp_path / 'test'), out,
                  [f'test_dataloader.dataset.indices={n}'])
    with open(out, 'rb') as f:
        expected = pickle.load(f)
    cfg = Config.fromfile(CLS_CONFIG)
    images = dataset_files(cfg, n, cwd)
    assert [osp.join(cwd, e['img_path']) for e in expected] == images
    inferencer = ImageClassificationInferencer(
        CLS_CONFIG, pretrained=checkpoint, device='cpu')
    results = inferencer(images, batch_size=4)
    held_out = cfg.test_dataloader.dataset.metainfo.classes
    for result, reference in zip(results, expected):
        assert result['pred_label'] == int(reference['pred_label'])
        torch.testing.assert_close(
            torch.from_numpy(result['pred_scores']), reference['pred_score'],
            rtol=0, atol=1e-5)
        # the classes the text classifier scores, not the training classes
        assert result['pred_class'] == held_out[result['pred_label']]


def _decode(rle: dict) -> np.ndarray:
    from pycocotools import mask as mask_utils
    counts = rle['counts']
    return mask_utils.decode(
        dict(rle, counts=counts.encode() if isinstance(counts, str) else
             counts))


def test_det_inferencer(small_data_cwd, tmp_path):
    """Mask R-CNN with CBN: the same labels, scores, boxes and masks."""
    from mmdet.apis import DetInferencer
    cwd, n = small_data_cwd, 2
    checkpoint = train(DET_CONFIG, str(tmp_path / 'train'), [
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=4',
        'default_hooks.checkpoint.interval=1'])
    # two iterations score every class about 1/81, under the default
    # threshold 0.05: keep the 10 best boxes per image.  Batches of one:
    # the inferencer runs one image at a time, while in tools/test.py's
    # batch of 2 the smaller image is padded to the larger one, which can
    # change the features near its border (measured: the 100 near-tied
    # boxes of a padded image agreed on 27 % of their labels).
    options = {'model.test_cfg.rcnn.score_thr': 0.0,
               'model.test_cfg.rcnn.max_per_img': 10,
               'test_dataloader.batch_size': 1}
    out = str(tmp_path / 'preds.pkl')
    run_test_tool(DET_CONFIG, checkpoint, cwd, str(tmp_path / 'test'), out,
                  [f'test_dataloader.dataset.indices={n}',
                   *as_options(options)])
    with open(out, 'rb') as f:
        expected = pickle.load(f)
    cfg = with_options(DET_CONFIG, options)
    images = dataset_files(cfg, n, cwd)
    assert [osp.join(cwd, e['img_path']) for e in expected] == images
    inferencer = DetInferencer(
        cfg, weights=checkpoint, device='cpu', show_progress=False)
    predictions = inferencer(images)['predictions']
    for result, reference in zip(predictions, expected):
        ref = reference['pred_instances']
        assert len(result['labels']) == len(ref['labels']) == 10
        assert result['labels'] == ref['labels'].tolist()
        torch.testing.assert_close(
            torch.tensor(result['scores']), ref['scores'], rtol=0, atol=1e-5)
        torch.testing.assert_close(
            torch.tensor(result['bboxes']), ref['bboxes'], rtol=0, atol=1e-3)
        for mask, ref_mask in zip(result['masks'], ref['masks']):
            np.testing.assert_array_equal(_decode(mask), _decode(ref_mask))


def test_seg_inferencer(small_data_cwd, tmp_path):
    """iCAR's open-vocabulary FCN head, whose classes come from the
    dataset: the same label maps."""
    from mmseg.apis import MMSegInferencer
    cwd, n = small_data_cwd, 2
    # lr 0.001: two steps at the config's 0.01 collapse the cosine logits
    # (temperature 0.05) onto one class everywhere, a map that hardly tells
    # one model from another
    checkpoint = train(SEG_CONFIG, str(tmp_path / 'train'), [
        'train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
        'optim_wrapper.optimizer.lr=0.001',
        'default_hooks.checkpoint.interval=2'])
    out = str(tmp_path / 'label_maps')
    run_test_tool(SEG_CONFIG, checkpoint, cwd, str(tmp_path / 'test'), out,
                  [f'test_dataloader.dataset.indices={n}'])
    cfg = Config.fromfile(SEG_CONFIG)
    images = dataset_files(cfg, n, cwd)
    # mmseg's --out writes label + 1 where the dataset reduces the zero label
    # (ADE20K: 0 is "other" on disk), the inferencer the label itself
    offset = int(build_test_set(cfg, n).reduce_zero_label)
    inferencer = MMSegInferencer(SEG_CONFIG, weights=checkpoint, device='cpu')
    # batch 1: mmseg cannot batch test images of different sizes
    predictions = inferencer(images, batch_size=1)['predictions']
    assert len(predictions) == n
    for image, prediction in zip(images, predictions):
        name = osp.splitext(osp.basename(image))[0] + '.png'
        expected = mmcv.imread(osp.join(out, name), flag='unchanged')
        assert len(np.unique(expected)) >= 5, 'a near-constant label map'
        np.testing.assert_array_equal(prediction + offset, expected)


def _single_view_options(cfg: Config) -> Dict[str, object]:
    """``--cfg-options`` giving ``tools/test.py`` the inferencer's test view:
    one clip (``SampleFrames.num_clips=1``), a centre crop instead of
    ``ThreeCrop``/``TenCrop``."""
    options = {}
    for i, transform in enumerate(cfg.test_dataloader.dataset.pipeline):
        if transform['type'] == 'SampleFrames':
            options[f'test_dataloader.dataset.pipeline.{i}.num_clips'] = 1
        if transform['type'] in ('ThreeCrop', 'TenCrop'):
            options[f'test_dataloader.dataset.pipeline.{i}.type'] = \
                'CenterCrop'
    assert len(options) == 2, f'unexpected test pipeline: {options}'
    return options


def test_action_recognition_inferencer(small_data_cwd, tmp_path):
    """Video Swin V2: the same scores as tools/test.py on the inferencer's
    single view (mmaction2's inferencer scores one clip, centre crop, where
    the config tests 2 clips x 3 crops)."""
    from mmaction.apis.inferencers import ActionRecogInferencer
    cwd, n = small_data_cwd, 3
    checkpoint = train(VIDEO_CONFIG, str(tmp_path / 'train'), [
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=8',
        'default_hooks.checkpoint.interval=1'])
    cfg = Config.fromfile(VIDEO_CONFIG)
    options = _single_view_options(cfg)
    out = str(tmp_path / 'preds.pkl')
    run_test_tool(VIDEO_CONFIG, checkpoint, cwd, str(tmp_path / 'test'), out,
                  [f'test_dataloader.dataset.indices={n}',
                   *as_options(options)])
    with open(out, 'rb') as f:
        expected = pickle.load(f)
    videos = dataset_files(cfg, n, cwd)
    inferencer = ActionRecogInferencer(
        VIDEO_CONFIG, weights=checkpoint, device='cpu')
    predictions = inferencer(videos)['predictions']
    assert len(predictions) == len(expected) == n
    for result, reference in zip(predictions, expected):
        assert result['pred_labels'] == reference['pred_label'].tolist()
        torch.testing.assert_close(
            torch.tensor(result['pred_scores']), reference['pred_score'],
            rtol=0, atol=1e-5)
