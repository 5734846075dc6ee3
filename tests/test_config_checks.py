"""Bad config input fails with a message naming the field and the fix."""
import ast
import glob
import importlib
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hub import get_config

from visrep.cli.config_checks import (ConfigError, _edit_distance,
                                      check_config, check_data_paths,
                                      check_top_level_fields, loaders_used,
                                      misspelled_field)
from _helpers import REPO_ROOT, run_tool

SMOKE_CONFIGS = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'smoke',
                                          '*.py')))
COCO_SMOKE = osp.join(REPO_ROOT, 'configs', 'smoke',
                      'mask-rcnn_r18_fpn_small-coco.py')
IMAGENET_SMOKE = osp.join(REPO_ROOT, 'configs', 'smoke',
                          'resnet18_small-imagenet.py')
# stock configs of each toolkit: the checks must not flag what they contain
STOCK_CONFIGS = [
    'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'mmdet::cascade_rcnn/cascade-mask-rcnn_r50_fpn_ms-3x_coco.py',
    'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py',
    'mmseg::dnlnet/dnl_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'mmpretrain::swin_transformer_v2/swinv2-tiny-w8_16xb64_in1k-256px.py',
    'mmaction::recognition/slowonly/'
    'slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb.py',
]


def test_edit_distance():
    assert _edit_distance('train_cfg', 'train_cfg') == 0
    assert _edit_distance('trian_cfg', 'train_cfg') == 1  # swap
    assert _edit_distance('optim_wraper', 'optim_wrapper') == 1
    assert _edit_distance('train_pipeline', 'tta_pipeline') == 3


def test_misspelled_top_level_field_is_named():
    cfg = Config.fromfile(IMAGENET_SMOKE)
    cfg.trian_dataloader = cfg.pop('train_dataloader')
    with pytest.raises(ConfigError) as err:
        check_top_level_fields(cfg)
    assert "'trian_dataloader'" in str(err.value)
    assert "did you mean 'train_dataloader'" in str(err.value)


def test_typo_of_an_inherited_field_is_named():
    """The dangerous case: the base's value would silently stay in force."""
    cfg = Config.fromfile(IMAGENET_SMOKE)
    cfg.optim_wraper = dict(optimizer=dict(lr=0.5))
    with pytest.raises(ConfigError, match="did you mean 'optim_wrapper'"):
        check_top_level_fields(cfg)


def test_typo_needs_the_field_type():
    assert misspelled_field('mode', dict(type='X')) == 'model'
    assert misspelled_field('mode', 'whole') is None  # a str is no model
    assert misspelled_field('wrok_dir', 'runs/x') == 'work_dir'
    assert misspelled_field('default_hook', {}) == 'default_hooks'
    assert misspelled_field('models', {}) is None  # a plural, not a typo
    assert misspelled_field('conv_cfg', {}) is None  # 2 edits from env_cfg
    assert misspelled_field('train_pipeline', []) is None
    assert misspelled_field('norm_cfg', dict(type='BN')) is None


def _value_kind(node):
    """A stand-in value of the type an assignment's right side builds."""
    if isinstance(node, ast.Dict) or (isinstance(node, ast.Call) and
                                      getattr(node.func, 'id', '') == 'dict'):
        return {}
    if isinstance(node, (ast.List, ast.ListComp)):
        return []
    if isinstance(node, ast.Constant):
        return node.value
    return None  # unknown: any type counts


def test_no_false_alarms_on_every_toolkit_config():
    """Every top-level name in every config the four toolkits ship."""
    flagged = []
    for package in ('mmdet', 'mmseg', 'mmpretrain', 'mmaction'):
        root = osp.join(osp.dirname(importlib.import_module(package).__file__),
                        '.mim', 'configs')
        files = glob.glob(osp.join(root, '**', '*.py'), recursive=True)
        assert len(files) > 100, root
        for path in files:
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read())
            for node in tree.body:
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        field = misspelled_field(target.id,
                                                 _value_kind(node.value))
                        if field:
                            flagged.append((path, target.id, field))
    assert not flagged, flagged[:20]


@pytest.mark.parametrize('path', SMOKE_CONFIGS + STOCK_CONFIGS,
                         ids=osp.basename)
def test_no_false_alarms_on_real_configs(path):
    cfg = get_config(path) if '::' in path else Config.fromfile(path)
    check_top_level_fields(cfg)


def test_missing_data_root_names_field_and_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/ here
    cfg = Config.fromfile(COCO_SMOKE)
    with pytest.raises(ConfigError) as err:
        check_data_paths(cfg, loaders_used(cfg, 'train'))
    message = str(err.value)
    assert "train_dataloader.dataset.data_root: directory 'data/small/coco/'" in message
    assert 'val_dataloader.dataset.data_root' in message
    assert 'val_evaluator.ann_file' in message
    assert 'make_small_datasets.py' in message and '--cfg-options' in message


def test_missing_annotation_file_is_named(small_data_cwd, monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = Config.fromfile(IMAGENET_SMOKE)
    cfg.train_dataloader.dataset.ann_file = 'meta/nope.txt'
    with pytest.raises(ConfigError, match=r"train_dataloader.dataset.ann_file: "
                       r"file 'data/small/imagenet/meta/nope.txt'"):
        check_data_paths(cfg, loaders_used(cfg, 'train'))


@pytest.mark.parametrize('path', SMOKE_CONFIGS, ids=osp.basename)
def test_small_data_matches_every_smoke_config(path, small_data_cwd,
                                               monkeypatch):
    """The generated sets sit exactly where the configs look for them."""
    monkeypatch.chdir(small_data_cwd)
    cfg = Config.fromfile(path)
    check_config(cfg, 'train')
    check_config(cfg, 'test')


# ------------------------------------------------ through tools/train.py
def test_train_bad_type_is_named(small_data_cwd, tmp_path):
    proc = run_tool(['tools/train.py', IMAGENET_SMOKE, '--work-dir',
                     str(tmp_path), '--cfg-options',
                     'model.backbone.type=ResNett'],
                    cwd=small_data_cwd, check=False, timeout=300)
    assert proc.returncode != 0
    assert 'ResNett is not in the mmpretrain::model registry' in proc.stdout


def test_train_missing_data_root(tmp_path):
    proc = run_tool(['tools/train.py', COCO_SMOKE, '--work-dir',
                     str(tmp_path / 'wd')], cwd=str(tmp_path), check=False,
                    timeout=300)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert 'config error:' in proc.stdout
    assert "train_dataloader.dataset.data_root: directory 'data/small/coco/'" \
        in proc.stdout


def test_train_misspelled_fields(small_data_cwd, tmp_path):
    top = run_tool(['tools/train.py', IMAGENET_SMOKE, '--work-dir',
                    str(tmp_path / 'a'), '--cfg-options',
                    'optim_wraper.optimizer.lr=0.5'],
                   cwd=small_data_cwd, check=False, timeout=300)
    assert top.returncode == 2
    assert "'optim_wraper'" in top.stdout and 'optim_wrapper' in top.stdout
    nested = run_tool(['tools/train.py', IMAGENET_SMOKE, '--work-dir',
                       str(tmp_path / 'b'), '--cfg-options',
                       'model.backbone.dpeth=18'],
                      cwd=small_data_cwd, check=False, timeout=300)
    assert nested.returncode != 0
    assert "unexpected keyword argument 'dpeth'" in nested.stdout
    assert 'ResNet' in nested.stdout


def test_unknown_scope_is_named(tmp_path):
    cfg_path = tmp_path / 'no_scope.py'
    cfg_path.write_text("model = dict(type='Foo')\n")
    proc = run_tool(['tools/train.py', str(cfg_path)], cwd=str(tmp_path),
                    check=False, timeout=300)
    assert proc.returncode == 2
    assert 'default_scope=None' in proc.stdout
