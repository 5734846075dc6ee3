"""Checkpoint faults: no code runs from a file, saves are atomic, auto-resume
never guesses, and wrong or incomplete checkpoints are errors naming the keys
(issue 23, "Faults and bad input")."""
import os
import os.path as osp
import resource
import shutil
import signal
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner import runner as mmengine_runner
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

from _helpers import REPO_ROOT
from visrep.checkpoint import CheckpointMismatchError
from visrep.checkpoint.last_checkpoint import (ResumeError,
                                               resolve_last_checkpoint,
                                               write_last_checkpoint)
from visrep.checkpoint.load_check import CheckpointKeysHook
from visrep.cli import common
from visrep.cli import test as test_cli
from visrep.cli.config_checks import (ConfigError, check_checkpoint_fields,
                                      check_config)
from visrep.compat.weights_only_load import (TRUST_ENV, NotACheckpointError,
                                             UntrustedCheckpointError)


# ------------------------------------------------- no code from a checkpoint
class _RunsCommand:
    """Pickles as ``os.system(command)``: runs it when unpickled."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


class _GetsAttribute:
    """Pickles as ``getattr(HistoryBuffer, name)``."""

    def __init__(self, name):
        self.name = name

    def __reduce__(self):
        return getattr, (HistoryBuffer, self.name)


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path,
                                                          monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'meta': {'x': _RunsCommand(f'touch {marker}')}}, path)
    # mmengine's path of load_from, --resume, init_cfg and tools/test.py
    with pytest.raises(UntrustedCheckpointError,
                       match=rf'evil.pth holds .*system.*{TRUST_ENV}=1'):
        _load_checkpoint(path, map_location='cpu')
    # and the CLI pre-check refuses it before the runner exists
    cfg = Config(dict(model=dict(type='X'), load_from=path))
    with pytest.raises(ConfigError, match=r'^load_from: .*posix.system'):
        check_config(cfg, 'train')
    # the legacy (pre-zip) format too
    torch.save({'meta': _RunsCommand(f'touch {marker}')}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(UntrustedCheckpointError, match=r'posix.system'):
        _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_trusted_opt_in_loads_other_objects(tmp_path, monkeypatch):
    path = str(tmp_path / 'namespace.pth')
    torch.save({'state_dict': {}, 'meta': SimpleNamespace(lr=0.1)}, path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError, match='SimpleNamespace'):
        _load_checkpoint(path, map_location='cpu')
    monkeypatch.setenv(TRUST_ENV, '1')
    assert _load_checkpoint(path, map_location='cpu')['meta'].lr == 0.1


def test_getattr_only_reads_history_buffer_statistics(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    good, bad = str(tmp_path / 'good.pth'), str(tmp_path / 'bad.pth')
    torch.save({'f': _GetsAttribute('mean')}, good)
    torch.save({'f': _GetsAttribute('__init__')}, bad)
    assert _load_checkpoint(good)['f'] is HistoryBuffer.mean
    with pytest.raises(UntrustedCheckpointError, match="'__init__'"):
        _load_checkpoint(bad)


def test_text_file_as_checkpoint_names_the_file(tmp_path):
    path = str(tmp_path / 'notes.pth')
    with open(path, 'w') as f:
        f.write('not a checkpoint\n')
    with pytest.raises(NotACheckpointError,
                       match=r'notes.pth is not a PyTorch checkpoint'):
        _load_checkpoint(path)
    cfg = Config(dict(model=dict(type='X'), load_from=path))
    with pytest.raises(ConfigError, match=r'checkpoint: .*notes.pth is not'):
        check_config(cfg, 'test')


# ------------------------------------------------------------ atomic saves
def test_save_killed_mid_write_leaves_no_truncated_file(tmp_path):
    """SIGXFSZ (file size limit) kills the saving process mid-write."""
    path = str(tmp_path / 'epoch_2.pth')
    with open(path, 'wb') as f:
        f.write(b'old')
    pid = os.fork()
    if pid == 0:  # child: 4 MB checkpoint, 1 MB file size limit
        try:
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it
            resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))
            save_checkpoint({'w': torch.zeros(2**20)}, path)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ
    with open(path, 'rb') as f:
        assert f.read() == b'old'  # never a partial new file
    save_checkpoint({'w': torch.ones(3)}, path)
    assert torch.equal(_load_checkpoint(path)['w'], torch.ones(3))
    # the killed save's temporary file is hidden; the finished one is gone
    leftovers = [n for n in os.listdir(tmp_path) if n != 'epoch_2.pth']
    assert all(n.startswith('.epoch_2.pth.') for n in leftovers)


# -------------------------------------------------- last_checkpoint / resume
def _touch(path):
    torch.save({'w': torch.ones(1)}, path)


def test_last_checkpoint_relative_and_copied_or_moved_work_dirs(tmp_path):
    run = tmp_path / 'run'
    run.mkdir()
    _touch(str(run / 'epoch_1.pth'))
    write_last_checkpoint(str(run), str(run / 'epoch_1.pth'))
    assert (run / 'last_checkpoint').read_text() == 'epoch_1.pth'
    # an old (mmengine-written) absolute record in a copied work dir
    (run / 'last_checkpoint').write_text(str(run / 'epoch_1.pth'))
    copy = tmp_path / 'copy'
    shutil.copytree(run, copy)
    assert resolve_last_checkpoint(str(copy)) == str(copy / 'epoch_1.pth')
    # ... and in a moved one; the runner's find_latest_checkpoint too
    moved = tmp_path / 'moved'
    run.rename(moved)
    assert mmengine_runner.find_latest_checkpoint(str(moved)) == str(
        moved / 'epoch_1.pth')
    assert mmengine_checkpoint.find_latest_checkpoint is \
        resolve_last_checkpoint
    (moved / 'epoch_1.pth').unlink()
    with pytest.raises(ResumeError, match=r'epoch_1.pth, which does not'):
        resolve_last_checkpoint(str(moved))


def test_auto_resume_without_record_stops_naming_the_checkpoints(tmp_path):
    work_dir = tmp_path / 'w'
    work_dir.mkdir()
    assert resolve_last_checkpoint(str(work_dir)) is None  # fresh: trains
    _touch(str(work_dir / 'epoch_1.pth'))
    cfg = Config(dict(model=dict(type='X'), resume=True, load_from=None,
                      work_dir=str(work_dir)))
    with pytest.raises(ConfigError,
                       match=r'holds checkpoints \(epoch_1.pth\) but no '
                       r'last_checkpoint.*--resume .*epoch_1.pth'):
        check_config(cfg, 'train')
    write_last_checkpoint(str(work_dir), str(work_dir / 'epoch_1.pth'))
    check_config(cfg, 'train')
    assert cfg.load_from == str(work_dir / 'epoch_1.pth')


# ----------------------------------------------- pre-checks of checkpoints
def test_missing_checkpoint_fields_are_named_before_the_runner(tmp_path):
    cfg = Config(dict(
        model=dict(type='X', backbone=dict(init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'nope.pth')))),
        load_from='https://example.com/remote.pth'))  # left to mmengine
    with pytest.raises(ConfigError,
                       match=r'^model.backbone.init_cfg.checkpoint: file '
                       r'.*nope.pth.* does not exist'):
        check_config(cfg, 'train')
    check_config(cfg, 'test')  # test runs do not initialise weights
    cfg = Config(dict(model=dict(type='X'), resume=True,
                      load_from=str(tmp_path / 'gone.pth')))
    with pytest.raises(ConfigError, match=r'^--resume: file .*gone.pth'):
        check_config(cfg, 'train')


def test_simmim_fine_tune_says_to_pre_train_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no work_dirs/ here
    cfg = Config.fromfile(osp.join(
        REPO_ROOT, 'configs/simmim/small/swin-micro_simmim-pre_small-'
        'imagenet.py'))
    with pytest.raises(ConfigError) as error:
        check_checkpoint_fields(cfg, 'train')
    assert 'model.backbone.init_cfg.checkpoint: file ' in str(error.value)
    assert ('`python tools/train.py configs/simmim/small/simmim_swin-micro_'
            'small-imagenet.py` first') in str(error.value)


def test_out_directory_is_checked_before_evaluation(tmp_path):
    test_cli.check_out_writable(str(tmp_path / 'new' / 'dir' / 'r.pkl'),
                                'mmpretrain')
    with pytest.raises(ConfigError, match=r"--out '/proc/r.pkl': cannot "):
        test_cli.check_out_writable('/proc/r.pkl', 'mmpretrain')
    (tmp_path / 'file').write_text('')
    with pytest.raises(ConfigError, match=r'is a file, not a directory'):
        test_cli.check_out_writable(str(tmp_path / 'file'), 'mmseg')


# ------------------------------------------------------- keys that load
def _hook_run(model, state_dict, **kwargs):
    """Run the hook as the runner does; return the messages it logged."""
    logged = []
    runner = SimpleNamespace(
        model=model, logger=SimpleNamespace(
            log=lambda level, message: logged.append(message)))
    CheckpointKeysHook('ck.pth', **kwargs).after_load_checkpoint(
        runner, {'state_dict': state_dict})
    return logged


def test_swinv2_checkpoint_missing_logit_scale_is_reported():
    from visrep.projects.swin_v2 import SwinTransformerV2
    model = SwinTransformerV2(arch=dict(embed_dims=8, depths=(1, 1, 1, 1),
                                        num_heads=(1, 1, 1, 1)))
    state = {k: v for k, v in model.state_dict().items()
             if not k.endswith('logit_scale')}
    with pytest.raises(CheckpointMismatchError,
                       match=r'ck.pth fills \d+ of the model\'s \d+ keys; '
                       r'4 missing keys: layers.0.blocks.0.attn.logit_scale'):
        _hook_run(model, state, strict=True)
    logged = _hook_run(model, state, strict=False)  # --non-strict: a warning
    assert len(logged) == 1 and 'logit_scale' in logged[0]
    assert _hook_run(model, model.state_dict(), strict=True) == []


def test_load_from_of_another_model_fails():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    other = {'0.weight': torch.ones(2, 2), 'conv.weight': torch.ones(1)}
    with pytest.raises(CheckpointMismatchError,
                       match=r'fills 1 of the model\'s 4 keys'):
        _hook_run(model, other, strict=False, min_matched=0.5)
    half = dict(model.state_dict())
    del half['1.bias']
    logged = _hook_run(model, half, strict=False, min_matched=0.5)
    assert '1.bias' in logged[0]  # 3 of 4 filled: a warning


def test_buffers_sized_on_load_are_not_shape_mismatches():
    """CBN's statistics history is empty until a checkpoint fills it."""
    model = nn.Module()
    model.register_buffer('history', torch.zeros(0))
    model.register_buffer('mean', torch.zeros(4))
    state = {'history': torch.ones(3, 4), 'mean': torch.ones(4)}
    assert _hook_run(model, state, strict=True) == []
    state['mean'] = torch.ones(5)
    with pytest.raises(CheckpointMismatchError,
                       match=r'1 shape mismatches: mean: checkpoint \(5,\)'):
        _hook_run(model, state, strict=True)


def test_exact_resume_takes_the_checkpoint_seed(tmp_path):
    path = str(tmp_path / 'epoch_1.pth')
    torch.save({'meta': {'seed': 1234}, 'state_dict': {}}, path)
    cfg = Config(dict(resume=True, load_from=path,
                      train_dataloader=dict(num_workers=0)))
    common.prepare_exact_resume(cfg)
    assert cfg.randomness.seed == 1234
    assert [h['type'] for h in cfg.custom_hooks] == ['visrep.RNGStateHook']
    cfg = Config(dict(load_from=path, randomness=dict(seed=7)))
    common.prepare_exact_resume(cfg)
    assert cfg.randomness.seed == 7  # not resuming: the config's seed


def test_cli_errors_about_checkpoints_exit_2(tmp_path, capsys):
    def fail():
        raise CheckpointMismatchError('ck.pth fills 0 of 4 keys')
    with pytest.raises(SystemExit) as code:
        common.run_cli(lambda argv: fail())
    assert code.value.code == 2
    assert 'checkpoint error: ck.pth fills 0' in capsys.readouterr().err
    assert test_cli.parse_args(['c.py', 'ck.pth', '--non-strict']).non_strict
