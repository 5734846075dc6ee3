"""Checkpoint faults through the real tools (issue 23): exit 2 and a message
naming the file, the keys and the fix -- before anything is overwritten or
evaluated."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from _helpers import REPO_ROOT, run_tool
from visrep.cli import train as train_cli
from visrep.cli.model_builder import build_config_model

pytestmark = pytest.mark.e2e

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')


def test_incomplete_checkpoint_and_auto_resume_exit_2(small_data_cwd,
                                                      tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(small_data_cwd)  # the config reads the small data
    model = build_config_model(Config.fromfile(CONFIG), 'mmpretrain')
    state = {k: v for k, v in model.state_dict().items() if k != 'head.fc.bias'}
    checkpoint = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': state, 'meta': {'epoch': 1, 'iter': 1}},
               checkpoint)

    # tools/test.py: a missing key is an error, not a random-init evaluation
    proc = run_tool(['tools/test.py', CONFIG, checkpoint, '--work-dir',
                     str(tmp_path / 'test')], cwd=small_data_cwd, check=False)
    assert proc.returncode == 2, proc.stdout[-2000:]
    assert "epoch_1.pth fills 101 of the model's 102 keys; 1 missing keys: " \
        'head.fc.bias' in proc.stdout
    assert '--non-strict' in proc.stdout
    assert 'accuracy/top1' not in proc.stdout

    # --resume in a work dir with checkpoints but no last_checkpoint
    with pytest.raises(SystemExit) as code:
        train_cli.cli([CONFIG, '--work-dir', str(tmp_path), '--resume'])
    assert code.value.code == 2
    err = capsys.readouterr().err
    assert 'holds checkpoints (epoch_1.pth) but no last_checkpoint' in err
    assert f'--resume {checkpoint}' in err
    assert osp.getsize(checkpoint) > 0 and not osp.exists(
        tmp_path / 'epoch_2.pth')
