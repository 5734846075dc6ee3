"""The compatibility layer (visrep.compat): each fix, shown on the real stack."""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import numpy
import pytest
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from visrep.compat import weights_only_load
from visrep.compat import numpy_aliases
from _helpers.ports import free_port


# --------------------------------------------------------------- checkpoints
class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out - torch.stack(data_samples)).pow(2).mean())
        return out


def _toy_dataset(n=8):
    g = torch.Generator().manual_seed(0)
    return [dict(inputs=torch.randn(4, generator=g),
                 data_samples=torch.randn(2, generator=g)) for _ in range(n)]


def _toy_runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=_ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_toy_dataset(), batch_size=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False,
                             begin=0, end=max_iters),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        randomness=dict(seed=0),
        experiment_name=f'toy_{osp.basename(work_dir)}_{max_iters}',
        **kwargs)


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('toy_ckpt'))
    _toy_runner(work_dir, max_iters=2).train()
    return osp.join(work_dir, 'iter_2.pth')


def test_plain_torch_load_refuses_mmengine_checkpoints(mmengine_checkpoint):
    """The problem is real: torch>=2.6 weights-only loading rejects the file."""
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(mmengine_checkpoint)


def test_mmengine_loader_reads_its_own_checkpoints(mmengine_checkpoint):
    from mmengine.logging.history_buffer import HistoryBuffer
    ckpt = _load_checkpoint(mmengine_checkpoint, map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    scalars = ckpt['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert set(ckpt['state_dict']) == {'linear.weight', 'linear.bias'}
    # and with weights_only=True (no arbitrary unpickling was needed)
    with torch.serialization.safe_globals(
            weights_only_load.mmengine_safe_globals()):
        torch.load(mmengine_checkpoint, weights_only=True)


def _rename_in_checkpoint(src, dst, old: bytes, new: bytes):
    """Copy a torch zip checkpoint, replacing bytes in its pickle."""
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('data.pkl'):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(item, data)


def test_numpy1_checkpoints_load_weights_only(mmengine_checkpoint, tmp_path):
    """Written under NumPy 1, the pickle names numpy.core.multiarray."""
    old = str(tmp_path / 'numpy1.pth')
    _rename_in_checkpoint(mmengine_checkpoint, old, b'numpy._core.multiarray',
                          b'numpy.core.multiarray')
    with torch.serialization.safe_globals(
            weights_only_load.mmengine_safe_globals()):
        ckpt = torch.load(old, weights_only=True)
    assert ckpt['meta']['iter'] == 2


def test_foreign_objects_are_refused_unless_trusted(tmp_path, monkeypatch):
    path = str(tmp_path / 'with_namespace.pth')
    torch.save({'state_dict': {'w': torch.ones(2)},
                'config': argparse.Namespace(lr=0.1)}, path)
    monkeypatch.delenv(weights_only_load.TRUST_ENV, raising=False)
    with pytest.raises(pickle.UnpicklingError,
                       match='argparse.Namespace.*VISREP_TRUST_CHECKPOINTS=1'):
        _load_checkpoint(path, map_location='cpu')
    monkeypatch.setenv(weights_only_load.TRUST_ENV, '1')
    assert _load_checkpoint(path, map_location='cpu')['config'].lr == 0.1


def test_last_checkpoint_is_written_relative(mmengine_checkpoint):
    """A copied or moved work dir resumes its own file (issue 23)."""
    record = osp.join(osp.dirname(mmengine_checkpoint), 'last_checkpoint')
    with open(record) as f:
        assert f.read() == 'iter_2.pth'


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        _load_checkpoint(str(tmp_path / 'nope.pth'))


def test_resume_restores_iteration_lr_and_optimizer(tmp_path):
    """Resume from iter 2 of 4 equals the uninterrupted run (bitwise, CPU)."""
    full = _toy_runner(str(tmp_path / 'full'), max_iters=4)
    full.train()
    resumed = _toy_runner(
        str(tmp_path / 'resumed'), max_iters=4, resume=True,
        load_from=str(tmp_path / 'full' / 'iter_2.pth'))
    resumed.train()
    a = torch.load(str(tmp_path / 'full' / 'iter_4.pth'), weights_only=False)
    b = torch.load(str(tmp_path / 'resumed' / 'iter_4.pth'),
                   weights_only=False)
    assert b['meta']['iter'] == a['meta']['iter'] == 4
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    assert a['param_schedulers'] == b['param_schedulers']
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    assert sa.keys() == sb.keys() and sa
    for k in sa:
        assert torch.equal(sa[k]['momentum_buffer'], sb[k]['momentum_buffer'])
    assert a['optimizer']['param_groups'][0]['lr'] == \
        b['optimizer']['param_groups'][0]['lr']


# --------------------------------------------------------------- mmaction DRN
def test_mmaction_models_import_and_drn_error():
    import mmaction.models  # noqa: F401  (fails without the stand-in)
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        with pytest.raises(RuntimeError, match='does not ship'):
            MODELS.build(dict(type='DRN'))
        # the rest of mmaction builds as usual
        assert MODELS.build(dict(type='TSNHead', num_classes=3,
                                 in_channels=8)) is not None


def test_stand_in_never_shadows_a_real_module():
    from visrep.compat.import_hooks import provide_if_missing
    code = '\n'.join([
        'import visrep',
        'from visrep.compat.import_hooks import provide_if_missing',
        "provide_if_missing('json.decoder', lambda m: setattr(m, 'FAKE', 1))",
        "provide_if_missing('json.visrep_missing', lambda m: setattr(m, 'FAKE', 1))",
        'import json.decoder, json.visrep_missing',
        "assert not hasattr(json.decoder, 'FAKE') and json.decoder.JSONDecoder",
        'assert json.visrep_missing.FAKE == 1',
        "print('ok')",
    ])
    del provide_if_missing
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


# --------------------------------------------------------------- NumPy 2
def test_global_numpy_is_untouched():
    assert not hasattr(numpy, 'Inf')
    assert numpy_aliases.LEGACY_NUMPY.Inf == numpy.inf


@pytest.mark.parametrize('module_name,names',
                         sorted(numpy_aliases.AFFECTED_MODULES.items()))
def test_affected_modules_see_the_removed_names(module_name, names):
    import importlib
    module = importlib.import_module(module_name)
    for name in names:
        assert getattr(module.np, name) is not None
    assert module.np.ndarray is numpy.ndarray  # everything else is NumPy


def test_mmpretrain_retrieval_recall_runs():
    from mmpretrain.evaluation.metrics import RetrievalRecall
    hits = RetrievalRecall.calculate([[2, 1], [3, 1]], [[2], [2]], topk=1,
                                     pred_indices=True, target_indices=True)
    assert float(hits[0]) == pytest.approx(50.0)


def test_mmaction_average_recall_runs():
    from mmaction.evaluation.functional import average_recall_at_avg_proposals
    gt = {'v': numpy.array([[0.0, 1.0]])}
    proposals = {'v': numpy.array([[0.0, 1.0, 0.9], [2.0, 3.0, 0.5]])}
    _, _, _, auc = average_recall_at_avg_proposals(gt, proposals, 2, 2)
    assert 0 < auc <= 100


def test_mmaction_frame_extract_runs(tmp_path):
    from mmaction.utils import frame_extract
    path = str(tmp_path / 'clip.mp4')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (64, 48))
    for _ in range(3):
        writer.write(numpy.zeros((48, 64, 3), numpy.uint8))
    writer.release()
    paths, frames = frame_extract(path, short_side=24,
                                  out_dir=str(tmp_path / 'frames'))
    assert len(frames) == 3 and frames[0].shape[:2] == (24, 32)


# --------------------------------------------------------------- Python 3.11
def test_lazy_import_config_with_frozen_stdlib_modules(tmp_path):
    from mmengine.config import Config
    path = tmp_path / 'lazy_cfg.py'
    path.write_text('import os\nfrom os import path as osp\n'
                    "work_dir = osp.join('runs', os.path.basename('/x/exp'))\n")
    cfg = Config.fromfile(str(path), lazy_import=True)
    assert cfg.work_dir == osp.join('runs', 'exp')


# --------------------------------------------------------------- distributed
# the environment each launcher gives a process (world size 1)
LAUNCHER_ENVS = {
    'pytorch': dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1'),
    'slurm': dict(SLURM_PROCID='0', SLURM_LOCALID='0', SLURM_NTASKS='1',
                  SLURM_NODELIST='localhost'),
    'mpi': dict(OMPI_COMM_WORLD_LOCAL_RANK='0', OMPI_COMM_WORLD_RANK='0',
                OMPI_COMM_WORLD_SIZE='1'),
}


@pytest.mark.parametrize('launcher', sorted(LAUNCHER_ENVS))
def test_cpu_launch_uses_gloo_without_cuda(launcher):
    assert not torch.cuda.is_available(), 'this test is for CPU machines'
    code = '\n'.join([
        'import visrep, torch.distributed as dist',
        'from mmengine.dist import init_dist',
        f"init_dist('{launcher}', backend='nccl')",
        "assert dist.get_backend() == 'gloo', dist.get_backend()",
        'assert dist.get_world_size() == 1',
        'dist.destroy_process_group()',
        "print('ok')",
    ])
    port = free_port()
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
               **LAUNCHER_ENVS[launcher])
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'gloo backend instead of' in proc.stderr + proc.stdout


@pytest.mark.parametrize('main_process', [True, False])
def test_test_metrics_json_written_by_the_main_process_only(
        tmp_path, monkeypatch, main_process):
    """mmengine's LoggerHook writes <log_dir>/<timestamp>.json in every
    process (same path: a race under dist_test.sh); only rank 0 writes it."""
    from mmengine import dist
    from mmengine.hooks import LoggerHook
    logged = []

    class LogProcessor:

        def get_log_after_epoch(self, runner, length, mode,
                                with_non_scalar=False):
            return {'accuracy/top1': 53.0}, 'Epoch(test) accuracy/top1: 53.0'

    class Runner:
        log_processor = LogProcessor()
        test_dataloader = [0, 1]
        log_dir = str(tmp_path)
        timestamp = 'stamp'

        class logger:
            info = logged.append

    monkeypatch.setattr(dist, 'is_main_process', lambda: main_process)
    hook = LoggerHook()
    hook.json_log_path = 'stamp.json'
    hook.after_test_epoch(Runner())
    assert logged == ['Epoch(test) accuracy/top1: 53.0']
    assert (tmp_path / 'stamp.json').exists() == main_process
    if main_process:
        assert json.loads((tmp_path / 'stamp.json').read_text()) == {
            'accuracy/top1': 53.0}
