"""tools/slurm_train.sh and tools/slurm_test.sh through mmengine's slurm launcher.

No cluster here: a stand-in ``srun`` starts the tasks locally with the
environment slurm gives each task (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
SLURM_NODELIST), and a stand-in ``scontrol`` resolves the node list, so the
scripts, ``--launcher slurm`` and mmengine's ``_init_dist_slurm`` run for real
(two CPU processes over gloo).
"""
import os
import os.path as osp
import stat

import pytest

from _helpers import REPO_ROOT, read_test_metrics, run_tool
from _helpers.ports import free_port

pytestmark = pytest.mark.e2e

CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'resnet18_small-imagenet.py')

FAKE_SRUN = r'''#!/usr/bin/env bash
# stand-in srun: takes --ntasks=N and --kill-on-bad-exit, drops the other
# options, runs N tasks; with --kill-on-bad-exit=1 (as slurm does) a task
# that fails stops the others, which would otherwise wait for it at the
# rendezvous
ntasks=1
kill_on_bad_exit=0
args=()
skip=0
for a in "$@"; do
  if [ $skip = 1 ]; then skip=0; continue; fi
  case "$a" in
    -p) skip=1 ;;  # -p PARTITION
    --ntasks=*) ntasks=${a#--ntasks=} ;;
    --kill-on-bad-exit=*) kill_on_bad_exit=${a#--kill-on-bad-exit=} ;;
    --job-name=*|--gres=*|--ntasks-per-node=*|--cpus-per-task=*) ;;
    *) args+=("$a") ;;
  esac
done
pids=()
for ((i = 0; i < ntasks; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$ntasks \
  SLURM_NODELIST=localhost "${args[@]}" &
  pids+=($!)
done
rc=0
for ((i = 0; i < ntasks; i++)); do
  if ! wait -n; then
    rc=1
    if [ "$kill_on_bad_exit" = 1 ]; then
      echo "srun: a task failed; killing the others" >&2
      kill "${pids[@]}" 2>/dev/null
      wait
      break
    fi
  fi
done
exit $rc
'''

FAKE_SCONTROL = '#!/usr/bin/env bash\necho 127.0.0.1\n'


def _fake_slurm_bin(folder):
    os.makedirs(folder, exist_ok=True)
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        path = osp.join(folder, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return folder


def test_slurm_train_and_test(small_data_cwd, tmp_path):
    bin_dir = _fake_slurm_bin(str(tmp_path / 'bin'))
    env = {'PATH': bin_dir + os.pathsep + os.environ['PATH'], 'GPUS': '2',
           'GPUS_PER_NODE': '2', 'MASTER_PORT': str(free_port())}
    work_dir = str(tmp_path / 'slurm')
    train = run_tool(['tools/slurm_train.sh', 'cpu', 'smoke', CONFIG, work_dir,
                      '--cfg-options', 'train_cfg.max_epochs=1'],
                     cwd=small_data_cwd, env=env)
    # mmengine's runtime report: launcher and world size
    assert 'Distributed launcher: slurm' in train.stdout, train.stdout[-3000:]
    assert 'GPU number: 2' in train.stdout
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    env['MASTER_PORT'] = str(free_port())
    test = run_tool(['tools/slurm_test.sh', 'cpu', 'smoke', CONFIG,
                     osp.join(work_dir, 'epoch_1.pth'), '--work-dir',
                     str(tmp_path / 'slurm_test')],
                    cwd=small_data_cwd, env=env)
    assert 'Distributed launcher: slurm' in test.stdout
    assert 'GPU number: 2' in test.stdout
    assert 0 <= read_test_metrics(str(tmp_path / 'slurm_test'))[
        'accuracy/top1'] <= 100
