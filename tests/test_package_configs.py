"""``visrep::<path>`` config names (visrep.compat.mmengine_package_configs).

mmengine 0.10.7 alone rejects them ("does not support to load visrep
config"); with visrep imported they name the shipped configs, in ``_base_``,
``Config.fromfile`` and ``mmengine.hub.get_config``.
"""
import os.path as osp

import pytest
from _helpers.runs import REPO_ROOT
from mmengine.config import Config
from mmengine.hub import get_config

from visrep.compat import mmengine_package_configs as package_configs

NAME = 'swin_v2/swinv2-tiny-w8_16xb64_in1k-256px.py'
REPO_FILE = osp.join(REPO_ROOT, 'configs', NAME)
# defines toolkit-typed dicts of its own (pipelines, schedulers), which
# mmengine's package handling would scope to `visrep`
SMALL = 'cbn/resnet18-cbn_1xb2_small-imagenet.py'


def test_names_resolve_to_the_shipped_configs():
    path = package_configs.resolve_config('visrep::' + NAME)
    assert osp.samefile(path, REPO_FILE)
    for load in (Config.fromfile, get_config):
        cfg = load('visrep::' + NAME)
        assert osp.samefile(cfg.filename, REPO_FILE)
        assert cfg.model.backbone.type == 'visrep.SwinTransformerV2'
        assert cfg.model.backbone.window_size == 8


def test_user_config_inherits_and_overrides(tmp_path):
    user = tmp_path / 'my_experiment.py'
    user.write_text(f"_base_ = 'visrep::{SMALL}'\n"
                    'model = dict(\n'
                    '    backbone=dict(norm_cfg=dict(buffer_num=3)))\n'
                    'train_dataloader = dict(batch_size=7)\n')
    cfg = Config.fromfile(str(user))
    assert cfg.train_dataloader.batch_size == 7
    assert cfg.model.backbone.norm_cfg.buffer_num == 3
    assert cfg.model.backbone.norm_cfg.type == 'visrep.CBN'
    # everything else is the base's, as if it were inherited by its path
    # (in particular no `_scope_='visrep'` as mmengine gives a package's
    # bases: toolkit types would then be looked up in the visrep registries)
    reference = Config.fromfile(osp.join(REPO_ROOT, 'configs', SMALL))
    assert reference.train_dataloader.batch_size != 7
    reference.merge_from_dict({'train_dataloader.batch_size': 7,
                               'model.backbone.norm_cfg.buffer_num': 3})
    assert cfg.to_dict() == reference.to_dict()
    assert cfg.default_scope == 'mmpretrain'


def test_missing_name_says_where_it_looked(tmp_path):
    user = tmp_path / 'typo.py'
    user.write_text("_base_ = 'visrep::swin_v2/swinv2-tiny-w8_in1k.py'\n")
    with pytest.raises(FileNotFoundError) as err:
        Config.fromfile(str(user))
    message = str(err.value)
    assert "'visrep::swin_v2/swinv2-tiny-w8_in1k.py' not found" in message
    for directory in package_configs.config_dirs():
        assert repr(directory) in message
    assert 'visrep::' + NAME in message  # the closest shipped name
    with pytest.raises(FileNotFoundError, match='not found'):
        get_config('visrep::nothing/here.py')


def test_other_package_names_stay_mmengines(tmp_path):
    user = tmp_path / 'mmpretrain_user.py'
    user.write_text("_base_ = 'mmpretrain::_base_/models/resnet18.py'\n")
    cfg = Config.fromfile(str(user))
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.model._scope_ == 'mmpretrain'  # mmengine's own handling
    unknown = tmp_path / 'unknown.py'
    unknown.write_text("_base_ = 'notapkg::a/b.py'\n")
    with pytest.raises(AssertionError, match='does not support to load'):
        Config.fromfile(str(unknown))


def test_package_metafiles_are_read_once(tmp_path):
    """mmengine reads every metafile of mmpretrain for each mmpretrain::
    base; the compat layer memoizes those reads."""
    user = tmp_path / 'two_bases.py'
    user.write_text("_base_ = ['mmpretrain::_base_/models/resnet18.py',\n"
                    "          'mmpretrain::_base_/default_runtime.py']\n")
    package_configs._load_metafile.cache_clear()
    Config.fromfile(str(user))
    first = package_configs._load_metafile.cache_info()
    Config.fromfile(str(user))
    second = package_configs._load_metafile.cache_info()
    assert first.misses > 10  # the model-index and mmpretrain's metafiles
    assert second.misses == first.misses  # nothing read again
    assert second.hits >= first.hits + first.misses


def test_get_config_pretrained_reads_weights_from_the_metafiles(
        tmp_path, monkeypatch):
    (tmp_path / 'configs' / 'swin_v2').mkdir(parents=True)
    (tmp_path / 'model-index.yml').write_text(
        'Import:\n  - configs/swin_v2/metafile.yml\n')
    (tmp_path / 'configs' / 'swin_v2' / 'metafile.yml').write_text(
        'Models:\n'
        '  - Name: other\n'
        '    Config: configs/swin_v2/other.py\n'
        '    Weights: https://example.org/other.pth\n'
        '  - Name: tiny\n'
        f'    Config: configs/{NAME}\n'
        '    Weights: https://example.org/tiny.pth\n')
    monkeypatch.setattr(package_configs, 'data_roots',
                        lambda: [str(tmp_path), REPO_ROOT])
    cfg = get_config('visrep::' + NAME, pretrained=True)
    assert cfg.model_path == 'https://example.org/tiny.pth'
    assert osp.samefile(cfg.filename, REPO_FILE)
    with pytest.raises(ValueError, match='no Weights entry'):
        package_configs.weights_url('visrep::swin_v2/unreleased.py')


def test_tools_take_a_visrep_config_name():
    """`tools/train.py visrep::<path>`: the CLI resolves the shipped file
    (the work dir is named after it) and names the path when it is absent."""
    import argparse

    from visrep.cli.common import load_config
    from visrep.cli.config_checks import ConfigError
    args = argparse.Namespace(config='visrep::' + NAME, launcher='none',
                              cfg_options=None, work_dir=None)
    cfg = load_config(args)
    assert osp.samefile(args.config, REPO_FILE)
    assert osp.basename(cfg.work_dir) == osp.splitext(osp.basename(NAME))[0]
    args.config = 'visrep::swin_v2/no-such-config.py'
    with pytest.raises(ConfigError, match='swin_v2/no-such-config.py'):
        load_config(args)
