"""The standard analysis tools on the small datasets, each on real output:

* ``tools/misc/print_config.py``: the resolved config, options applied, for
  a file and a ``visrep::`` name;
* ``browse_dataset.py``: one annotated image per toolkit (cls, det, seg,
  video frame grid) whose annotation pixels differ from the sample's image;
* ``benchmark.py``: FPS over N images after untimed warm-up steps;
* ``analyze_logs.py``: the curves of a real run and its per-epoch time
  statistics against a direct computation from ``scalars.json``;
* ``confusion_matrix.py``: cls counts sum to the samples and match the
  predictions; seg pixel counts give mmseg's ``IoUMetric`` intersections /
  unions;
* ``tools/misc/publish_model.py``: only ``state_dict`` + ``meta`` (loadable
  with ``weights_only=True``), the hash suffix is the file's sha256.

One short in-process training (2 epochs of 2 iterations) provides the logs
and the checkpoint; the tests that use it are marked ``e2e``.
"""
import glob
import hashlib
import json
import logging
import os
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch

from _helpers.runs import REPO_ROOT, load_script
from visrep.cli.config_checks import ConfigError

print_config = load_script('tools/misc/print_config.py')
publish_model = load_script('tools/misc/publish_model.py')
browse_dataset = load_script('tools/analysis_tools/browse_dataset.py')
benchmark = load_script('tools/analysis_tools/benchmark.py')
analyze_logs = load_script('tools/analysis_tools/analyze_logs.py')
confusion_matrix = load_script('tools/analysis_tools/confusion_matrix.py')


def _smoke_config(pattern: str) -> str:
    """The one stock-toolkit smoke config matching ``pattern``."""
    [path] = glob.glob(osp.join(REPO_ROOT, 'configs', 'smoke', pattern))
    return path


CLS = _smoke_config('resnet18_*imagenet*.py')
DET = _smoke_config('mask-rcnn_r18_*coco*.py')
SEG = _smoke_config('fcn_r18-d8_*ade20k*.py')
VIDEO = _smoke_config('slowonly_r18_*kinetics400*.py')
#: data loading in the test process (no worker processes)
NO_WORKERS_CFG = {f'{split}_dataloader.{key}': value
                  for split in ('train', 'val', 'test')
                  for key, value in (('num_workers', 0),
                                     ('persistent_workers', False))}
NO_WORKERS = [f'{key}={value}' for key, value in NO_WORKERS_CFG.items()]
TEST_IMAGES = 12
#: small ADE20K validation images with unlabelled pixels
SEG_IMAGES = (2, 4)


@pytest.fixture(scope='module')
def cls_run(small_data_cwd, tmp_path_factory):
    """A 2-epoch x 2-iteration training of the smoke ResNet-18 (logged every
    iteration): its work dir and last checkpoint."""
    from mmengine.runner import Runner
    work_dir = str(tmp_path_factory.mktemp('cls_run'))
    cfg = print_config.load_tool_config(CLS)
    cfg.merge_from_dict({
        'work_dir': work_dir,
        'train_dataloader.dataset.indices': 16,
        'train_dataloader.batch_size': 8,
        'val_dataloader.dataset.indices': TEST_IMAGES,
        'test_dataloader.dataset.indices': TEST_IMAGES,
        'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 2,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2,
        'randomness.seed': 0,
        **NO_WORKERS_CFG,
    })
    cwd = os.getcwd()
    os.chdir(small_data_cwd)
    try:
        Runner.from_cfg(cfg).train()
    finally:
        os.chdir(cwd)
    return work_dir, osp.join(work_dir, 'epoch_2.pth')


def test_print_config_resolves_bases_and_options(capsys):
    from mmengine.config import Config
    cfg = print_config.main([CLS, '--cfg-options', 'model.backbone.depth=34',
                             'train_cfg.max_epochs=3'])
    printed = capsys.readouterr().out
    assert 'depth=34' in printed and 'max_epochs=3' in printed
    # the _base_ files are merged: the printed text is a complete config
    again = Config.fromstring(printed, '.py')
    assert again.model.backbone.depth == 34
    assert again.model.head.type == 'LinearClsHead'  # from mmpretrain's base
    assert again.to_dict() == cfg.to_dict()
    name = osp.relpath(CLS, osp.join(REPO_ROOT, 'configs'))
    named = print_config.main([f'visrep::{name}'])  # a shipped config
    assert named.model.backbone.depth == 18
    with pytest.raises(ConfigError, match='nope.py'):
        print_config.main(['nope.py'])


def _changed_fraction(drawn: np.ndarray, image: np.ndarray) -> float:
    """Fraction of pixels that differ by more than 40 grey levels."""
    return float((np.abs(drawn.astype(int) - image.astype(int)).max(-1)
                  > 40).mean())


@pytest.mark.parametrize('config', [CLS, DET, SEG, VIDEO],
                         ids=['cls', 'det', 'seg', 'video'])
def test_browse_dataset_draws_annotations(config, small_data_cwd, tmp_path,
                                          monkeypatch):
    import mmcv
    monkeypatch.chdir(small_data_cwd)
    out_dir = str(tmp_path / 'browse')
    written = browse_dataset.main([config, '--output-dir', out_dir,
                                   '--split', 'val', '--max-items', '2'])
    assert len(written) == 2 and all(osp.isfile(f) for f in written)
    # the val pipeline is deterministic: the sample is the drawn image
    cfg = browse_dataset.load_tool_config(config)
    toolkit = browse_dataset.enter_toolkit(cfg)
    item = browse_dataset.build_split_dataset(cfg, toolkit, 'val')[0]
    drawn = mmcv.imread(written[0], channel_order='rgb')
    if toolkit == 'mmaction':
        frames = browse_dataset.clip_frames(item['inputs'])
        t = len(frames)  # tiled ceil(sqrt(t)) per row, enlarged
        columns = int(np.ceil(np.sqrt(t)))
        rows = int(np.ceil(t / columns))
        h, w = drawn.shape[0] // rows, drawn.shape[1] // columns
        assert (h * rows, w * columns) == drawn.shape[:2]
        assert h / w == pytest.approx(frames.shape[1] / frames.shape[2],
                                      rel=0.05)
        cells = [drawn[r * h:(r + 1) * h, c * w:(c + 1) * w]
                 for r in range(rows) for c in range(columns)][:t]
        changed = [_changed_fraction(c, mmcv.imresize(f, (w, h)))
                   for c, f in zip(cells, frames)]
        assert all(0.01 < x < 0.5 for x in changed), changed  # label box
        return
    # mmdet's / mmseg's val pipelines load the annotations after resizing
    original_frame = browse_dataset.annotations_after_resize(
        cfg.val_dataloader.dataset.pipeline)
    assert original_frame == (toolkit in ('mmdet', 'mmseg'))
    image = browse_dataset.sample_image(item, original_frame)
    if drawn.shape != image.shape:  # small classification images enlarged
        image = mmcv.imresize(image, drawn.shape[1::-1])
    changed = _changed_fraction(drawn, image)
    # a label box (cls), boxes and masks (det), a label map over it all (seg)
    low, high = {'mmpretrain': (0.01, 0.5), 'mmdet': (0.005, 0.9),
                 'mmseg': (0.5, 1.0)}[toolkit]
    assert low < changed <= high, changed


def _capture_log():
    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    return logger, handler, records


@pytest.mark.e2e  # the cls_run fixture trains
def test_benchmark_times_n_images_after_warmup(cls_run, small_data_cwd,
                                               monkeypatch, tmp_path):
    monkeypatch.chdir(small_data_cwd)
    _, checkpoint = cls_run
    logger, handler, logged = _capture_log()
    try:
        speed = benchmark.main([
            CLS, '--checkpoint', checkpoint, '--num-images', '4',
            '--num-warmup', '2', '--log-interval', '1', '--out',
            str(tmp_path / 'fps.json'), '--cfg-options', *NO_WORKERS])
    finally:
        logger.removeHandler(handler)
    assert speed.images == 4 and speed.fps > 0
    assert speed.fps == pytest.approx(speed.images / speed.seconds)
    assert len([m for m in logged if m.startswith('Done image')]) == 4
    assert json.loads((tmp_path / 'fps.json').read_text())['images'] == 4

    class Counting(torch.nn.Module):
        calls = 0

        def test_step(self, batch):
            Counting.calls += 1

    batches = [{'inputs': [0, 0]}] * 10  # batches of two samples
    images, _ = benchmark.time_inference(Counting(), batches, num_images=6,
                                         num_warmup=3, log_interval=100,
                                         device='cpu')
    # the 3 warm-up steps are run but not counted; then 3 timed steps
    assert (images, Counting.calls) == (6, 6)


@pytest.mark.e2e  # the cls_run fixture trains
def test_analyze_logs_curves_and_train_time(cls_run, tmp_path, capsys):
    work_dir, _ = cls_run
    out = str(tmp_path / 'curves.png')
    drawn = analyze_logs.main(['plot_curve', work_dir, '--keys', 'loss',
                               'lr', 'accuracy/top1', '--out', out,
                               '--legend', 'r18'])
    assert drawn == {'loss': 1, 'lr': 1, 'accuracy/top1': 1}
    assert os.path.getsize(out) > 10_000
    # direct computation from the json lines
    [scalars] = [osp.join(root, f) for root, _, files in os.walk(work_dir)
                 for f in files if f == 'scalars.json']
    with open(scalars) as f:
        train = [r for r in map(json.loads, f) if 'iter' in r]
    assert len(train) == 4  # 2 epochs x 2 iterations, logged every one
    by_epoch = {e: [r['time'] for r in train if r['epoch'] == e]
                for e in (1, 2)}
    [result] = analyze_logs.main(['cal_train_time', work_dir])
    assert result.per_epoch == pytest.approx(
        {e: np.mean(t[1:]) for e, t in by_epoch.items()})
    assert result.average == pytest.approx(np.mean([r['time']
                                                    for r in train]))
    means = result.per_epoch
    assert result.slowest_epoch == max(means, key=means.get)
    assert result.std_over_epochs == pytest.approx(np.std(list(
        means.values())))
    [full] = analyze_logs.main(['cal_train_time', scalars,
                                '--include-outliers'])
    assert full.per_epoch == pytest.approx(
        {e: np.mean(t) for e, t in by_epoch.items()})
    assert 'average iter time' in capsys.readouterr().out


@pytest.mark.e2e  # the cls_run fixture trains
def test_confusion_matrix_classification(cls_run, small_data_cwd,
                                         monkeypatch, tmp_path):
    monkeypatch.chdir(small_data_cwd)
    _, checkpoint = cls_run
    out = str(tmp_path / 'cm.png')
    options = ['--cfg-options', f'test_dataloader.dataset.indices='
               f'{TEST_IMAGES}', *NO_WORKERS]
    matrix = confusion_matrix.main([CLS, checkpoint, '--out', out,
                                    '--out-matrix', str(tmp_path / 'cm.npy'),
                                    *options])
    assert int(matrix.sum()) == TEST_IMAGES
    assert os.path.getsize(out) > 5_000
    np.testing.assert_array_equal(np.load(tmp_path / 'cm.npy'),
                                  matrix.numpy())
    # the same predictions, counted by hand (rows: ground truth)
    cfg = confusion_matrix.load_tool_config(CLS)
    cfg.merge_from_dict({'test_dataloader.dataset.indices': TEST_IMAGES,
                         'test_dataloader.num_workers': 0,
                         'test_dataloader.persistent_workers': False})
    confusion_matrix.enter_toolkit(cfg)
    samples = confusion_matrix.predict(cfg, checkpoint, 'cpu')
    expected = torch.zeros_like(matrix)
    for s in samples:
        expected[int(s.gt_label), int(s.pred_label)] += 1
    assert torch.equal(matrix, expected)
    # and from a tools/test.py --out pickle (mmengine's dict form)
    result = tmp_path / 'results.pkl'
    result.write_bytes(pickle.dumps([s.to_dict() for s in samples]))
    again = confusion_matrix.main([CLS, str(result), '--out', out,
                                   *options])
    assert torch.equal(again, matrix)


def test_confusion_matrix_segmentation_matches_iou_metric(
        small_data_cwd, monkeypatch, tmp_path):
    """Untrained weights, two images with unlabelled pixels (ADE20K's 0,
    255 after ``reduce_zero_label``): every other ground-truth pixel counted
    once; IoU's intersections and unions from the matrix equal mmseg's
    ``IoUMetric.intersect_and_union``."""
    from mmengine.runner import save_checkpoint
    from mmseg.evaluation import IoUMetric
    monkeypatch.chdir(small_data_cwd)
    cfg = confusion_matrix.load_tool_config(SEG)
    cfg.merge_from_dict({'test_dataloader.dataset.indices': SEG_IMAGES,
                         'test_dataloader.num_workers': 0,
                         'test_dataloader.persistent_workers': False})
    confusion_matrix.enter_toolkit(cfg)
    torch.manual_seed(0)
    model = confusion_matrix.build_inference_model(cfg, None, 'cpu')
    checkpoint = str(tmp_path / 'fcn.pth')
    save_checkpoint({'state_dict': model.state_dict()}, checkpoint)
    samples = confusion_matrix.predict(cfg, checkpoint, 'cpu')
    result = tmp_path / 'seg.pkl'
    result.write_bytes(pickle.dumps([s.to_dict() for s in samples]))
    matrix = confusion_matrix.main([
        SEG, str(result), '--out', str(tmp_path / 'seg.png')])
    n = matrix.shape[0]
    inter, union = torch.zeros(n, dtype=torch.float64), torch.zeros(
        n, dtype=torch.float64)
    labelled = pixels = 0
    for s in samples:
        gt = s.gt_sem_seg.data.squeeze()
        i, u, _, _ = IoUMetric.intersect_and_union(
            s.pred_sem_seg.data.squeeze(), gt, n, 255)
        inter += i
        union += u
        labelled += int((gt != 255).sum())
        pixels += gt.numel()
    assert 0 < int(matrix.sum()) == labelled < pixels
    m = matrix.double()
    assert torch.equal(m.diag(), inter)
    assert torch.equal(m.sum(0) + m.sum(1) - m.diag(), union)
    assert os.path.getsize(tmp_path / 'seg.png') > 5_000


@pytest.mark.e2e  # the cls_run fixture trains
def test_publish_model_strips_and_hashes(cls_run, tmp_path):
    _, checkpoint = cls_run
    original = torch.load(checkpoint, map_location='cpu', weights_only=False)
    assert 'optimizer' in original and 'message_hub' in original
    final = publish_model.main([checkpoint, str(tmp_path / 'out' /
                                                'r18_small.pth')])
    match = re.fullmatch(r'r18_small-([0-9a-f]{8})\.pth', osp.basename(final))
    assert match, final
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == match.group(1)
    assert not osp.exists(tmp_path / 'out' / 'r18_small.pth')
    # no message hub (HistoryBuffer, NumPy): plain torch.load's default,
    # weights_only=True, reads it, which the training checkpoint fails
    assert torch.serialization.get_unsafe_globals_in_checkpoint(checkpoint)
    published = torch.load(final, map_location='cpu', weights_only=True)
    assert set(published) == {'state_dict', 'meta'}
    assert published['meta'] == original['meta']
    assert published['state_dict'].keys() == original['state_dict'].keys()
    for key, value in original['state_dict'].items():
        assert torch.equal(published['state_dict'][key], value), key
    with pytest.raises(ValueError, match='has no `state_dict`'):
        publish_model.strip_checkpoint({'optimizer': {}}, 'x.pth')
