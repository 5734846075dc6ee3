"""Bad input met as a new user meets it: each error names the file (line,
record, field) and the fix.  Before ``visrep.compat.config_errors`` /
``input_errors`` these were ``File "<unknown>"``, a cv2 assertion, "not
enough values to unpack", a decord error and a bare ``KeyError``."""
import json

import pytest

import visrep  # noqa: F401  (compatibility layer)
from visrep.compat.input_errors import DataFileError


def _write(path, text: str):
    path.write_text(text)
    return path


# ------------------------------------------------------------------ configs
def test_syntax_error_in_base_config_names_that_file_and_line(tmp_path):
    from mmengine.config import Config
    base = _write(tmp_path / 'base.py', 'a = 1\nb = dict(x=1,\n')
    _write(tmp_path / 'child.py', "_base_ = ['./base.py']\nc = 2\n")
    with pytest.raises(SyntaxError, match='was never closed') as info:
        Config.fromfile(str(tmp_path / 'child.py'))
    assert info.value.filename == str(base)
    assert info.value.lineno == 2 and 'b = dict(x=1,' in info.value.text
    assert str(base) in info.value.msg and 'fix the Python syntax' in \
        info.value.msg


def test_syntax_error_in_lazy_import_base_names_that_file(tmp_path):
    from mmengine.config import Config
    base = _write(tmp_path / 'base_lazy.py', 'x = 1\ny = [1, 2\n')
    _write(tmp_path / 'top.py', 'from mmengine.config import read_base\n'
           'with read_base():\n    from .base_lazy import *\nb = 2\n')
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(str(tmp_path / 'top.py'))
    assert (info.value.filename, info.value.lineno) == (str(base), 2)


# ------------------------------------------------------------------- images
def test_zero_byte_and_corrupt_image_name_the_path(tmp_path):
    from mmpretrain.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    empty = tmp_path / 'empty.JPEG'
    empty.write_bytes(b'')
    with pytest.raises(DataFileError,
                       match=f"image '{empty}': the file is empty") as info:
        load(dict(img_path=str(empty)))
    assert 'remove it from' in str(info.value)
    corrupt = tmp_path / 'corrupt.JPEG'
    corrupt.write_bytes(b'not a jpeg at all')
    with pytest.raises(DataFileError,
                       match=f"image '{corrupt}': not a readable image"):
        load(dict(img_path=str(corrupt)))
    missing = str(tmp_path / 'missing.JPEG')
    with pytest.raises(FileNotFoundError, match='missing.JPEG'):
        load(dict(img_path=missing))  # already named: unchanged


def test_zero_byte_segmentation_map_names_the_path(tmp_path):
    from mmseg.registry import TRANSFORMS
    load = TRANSFORMS.build(dict(type='LoadAnnotations'))
    seg = tmp_path / 'a_gtFine_labelTrainIds.png'
    seg.write_bytes(b'')
    with pytest.raises(DataFileError, match=f"map '{seg}': the file is empty"):
        load(dict(seg_map_path=str(seg), reduce_zero_label=False,
                  seg_fields=[]))


# ---------------------------------------------- ImageNet-style annotations
@pytest.mark.parametrize('bad_line, what', [
    ('n01_2.JPEG', "'n01_2.JPEG' is not \"<image path> <integer label>\""),
    ('n01_2.JPEG dog', "'n01_2.JPEG dog' is not"),
    ('', 'is empty'),
])
def test_annotation_line_without_label_names_file_and_line(
        tmp_path, bad_line, what):
    from mmpretrain.datasets import ImageNet
    ann = _write(tmp_path / 'train.txt',
                 f'n01/n01_1.JPEG 0\n{bad_line}\nn01/n01_3.JPEG 0\n')
    with pytest.raises(DataFileError) as info:
        ImageNet(data_root=str(tmp_path), ann_file=str(ann),
                 data_prefix='train', lazy_init=False)
    assert str(info.value).startswith(f'{ann}, line 2: {what}')
    assert 'Add the label or remove the line' in str(info.value)


# ------------------------------------------------------------------- videos
def test_unreadable_video_names_the_path(tmp_path):
    from mmaction.registry import TRANSFORMS
    init = TRANSFORMS.build(dict(type='DecordInit', io_backend='disk'))
    video = tmp_path / 'abseiling_0.mp4'
    video.write_bytes(b'\x00' * 64)
    with pytest.raises(DataFileError,
                       match=f"video '{video}': not a readable video"):
        init(dict(filename=str(video)))
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(DataFileError, match="empty.mp4': the file is empty"):
        init(dict(filename=str(tmp_path / 'empty')))  # '.mp4' implied


# --------------------------------------------------------------------- COCO
def _coco(tmp_path, image: dict, annotation: dict):
    path = tmp_path / 'instances_train2017.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=11, file_name='a.jpg', height=32, width=32),
                dict(image, id=12)],
        annotations=[dict(id=5, image_id=11, category_id=1, area=16.0,
                          bbox=[1, 1, 4, 4], iscrowd=0),
                     dict(annotation, id=6, image_id=12)],
        categories=[dict(id=1, name='person')])))
    return path


@pytest.mark.parametrize('drop, what', [
    ('bbox', "annotation id=6 (image id=12) has no 'bbox' field"),
    ('file_name', "image id=12 has no 'file_name' field"),
])
def test_coco_record_without_field_names_json_id_and_field(
        tmp_path, drop, what):
    from mmdet.datasets import CocoDataset
    image = dict(file_name='b.jpg', height=32, width=32)
    annotation = dict(category_id=1, area=16.0, bbox=[1, 1, 4, 4],
                      iscrowd=0)
    image.pop(drop, None)
    annotation.pop(drop, None)
    ann_file = _coco(tmp_path, image, annotation)
    with pytest.raises(DataFileError) as info:
        CocoDataset(ann_file=str(ann_file), data_prefix=dict(img=''),
                    metainfo=dict(classes=('person', )))
    assert str(info.value).startswith(f'{ann_file}: {what}')


def test_coco_record_without_id_and_bad_data_prefix(tmp_path):
    """A record field pycocotools indexes is named; a KeyError that is no
    record field (a config's ``data_prefix``) stays mmdet's own."""
    from mmdet.datasets import CocoDataset
    ann_file = _coco(tmp_path, dict(file_name='b.jpg', height=32, width=32),
                     dict(category_id=1, area=16.0, bbox=[1, 1, 4, 4]))
    with pytest.raises(KeyError, match="'img'"):
        CocoDataset(ann_file=str(ann_file), data_prefix=dict(img_path=''))
    records = json.loads(ann_file.read_text())
    del records['annotations'][1]['image_id']
    ann_file.write_text(json.dumps(records))
    with pytest.raises(DataFileError,
                       match=f"{ann_file}: a record has no 'image_id' field"):
        CocoDataset(ann_file=str(ann_file), data_prefix=dict(img=''))


# ------------------------------------------------------------- DNL sizes
def test_dnl_non_integer_reduction_and_mid_channels_are_refused():
    from visrep.projects.dnl import DNLBlock
    from visrep.projects.dnl.head import DNLOfficialHead
    with pytest.raises(TypeError, match=r'reduction=2.5 must be an int'):
        DNLBlock(16, reduction=2.5)
    with pytest.raises(TypeError, match=r'reduction=True must be an int'):
        DNLBlock(16, reduction=True)
    with pytest.raises(TypeError, match=r'mid_channels=8.0 must be an int'):
        DNLOfficialHead(mid_channels=8.0, in_channels=16, channels=8,
                        num_classes=3)


# ------------------------------------------------------------- exit codes
def _cli_exit(main, capsys):
    """Run ``main`` through the tools' ``run_cli``: (exit code, stderr)."""
    from visrep.cli.common import run_cli
    with pytest.raises(SystemExit) as info:
        run_cli(main)
    return info.value.code, capsys.readouterr().err


def test_tools_exit_2_with_the_message_on_bad_input(tmp_path, capsys):
    """A config syntax error (via the real ``tools/train.py`` entry), an
    unreadable data file and an invalid backbone argument end the tool with
    their message and exit 2, no traceback; a bug (a plain ``ValueError``)
    keeps its traceback."""
    from visrep.cli import train
    base = _write(tmp_path / 'base.py', 'a = dict(x=1,\n')
    child = _write(tmp_path / 'child.py', "_base_ = ['./base.py']\n")
    code, err = _cli_exit(lambda argv: train.main([str(child)]), capsys)
    assert code == 2
    assert err.startswith('config syntax error: ') and str(base) in err

    def bad_image(argv):
        raise DataFileError("cannot read the image 'x.jpg': empty")

    code, err = _cli_exit(bad_image, capsys)
    assert (code, err.strip()) == (
        2, "data error: cannot read the image 'x.jpg': empty")

    from visrep.projects.swin_v2 import SwinTransformerV2

    def bad_window(argv):
        SwinTransformerV2(arch='tiny', img_size=64, window_size=0)

    code, err = _cli_exit(bad_window, capsys)
    assert code == 2 and err.startswith('argument error: window_size=0')

    def bug(argv):
        raise ValueError('a bug')

    from visrep.cli.common import run_cli
    with pytest.raises(ValueError, match='a bug'):
        run_cli(bug)


class _BrokenImages:
    """A dataset whose one image is unreadable."""

    def __len__(self):
        return 1

    def __getitem__(self, index):
        raise DataFileError("cannot read the image 'a.jpg': the file is "
                            'empty (0 bytes)')


def test_error_from_a_dataloader_worker_prints_its_own_line(capsys):
    """torch re-raises a worker's error with the worker's traceback in its
    message; the tool prints the error's own line only, exit 2."""
    import torch.utils.data

    def train(argv):
        next(iter(torch.utils.data.DataLoader(_BrokenImages(),
                                              num_workers=1)))

    code, err = _cli_exit(train, capsys)
    assert (code, err.strip()) == (
        2, "data error: cannot read the image 'a.jpg': the file is empty "
        '(0 bytes)')
