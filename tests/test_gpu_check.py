"""``benchmarks/gpu_check.sh`` where there is no GPU: it checks its
arguments, skips every CUDA part with a message and exits 0; a bad argument
exits 2 naming it.  And its summary table's figures, read from the parts'
logs as the scripts print them."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from _helpers.runs import REPO_ROOT, load_script

SCRIPT = osp.join(REPO_ROOT, 'benchmarks', 'gpu_check.sh')
PARTS = ('tests', 'swin', 'b384', 'cbn', 'semi', 'ddp')


def _run(args, tmp_path):
    env = dict(os.environ, PYTHON=sys.executable,
               CUDA_VISIBLE_DEVICES='')  # no device, also on a GPU machine
    return subprocess.run(['bash', SCRIPT, *args], cwd=str(tmp_path),
                          env=env, capture_output=True, text=True,
                          timeout=60)


def test_without_cuda_it_skips_the_cuda_parts_and_exits_0(tmp_path):
    out = tmp_path / 'out'
    done = _run(['--out', str(out), '--quick'], tmp_path)
    assert done.returncode == 0, done.stderr
    assert ('no CUDA device here (the CUDA driver sees none): skipping the '
            'CUDA parts: ' + ' '.join(PARTS)) in done.stdout
    summary = json.loads((out / 'summary.json').read_text())
    assert [(p['name'], p['status'], p['note'])
            for p in summary['parts']] == [(name, 'skipped', 'no CUDA device')
                                           for name in PARTS]
    table = (out / 'summary.md').read_text()
    assert table in done.stdout  # the same table printed and written
    assert '| cbn: CBN GPU speed (cbn_speed_standalone.py) | skipped |' in \
        table


@pytest.mark.parametrize('args, message', [
    (['--bogus'], "unknown argument '--bogus'"),
    (['--out'], '--out needs a directory'),
    (['--only', 'swin,nope'], "--only: unknown part 'nope' (parts: tests "
     'swin b384 cbn semi ddp)'),
    (['--budget', '10'], "--budget '10': give whole seconds, at least 30"),
])
def test_a_bad_argument_exits_2_naming_it(tmp_path, args, message):
    out = tmp_path / 'out'
    done = _run(['--out', str(out), *args], tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert 'usage: bash benchmarks/gpu_check.sh' in done.stderr
    assert not out.exists()  # stopped before doing anything


CBN_LOG = '''torch 2.11.0+cu130, NVIDIA H200
CUDA graphs vs none, float32, 10 SGD steps: bit for bit equal: True

ResNet-50 (torchvision), batch 2, 224x224, tf32, 20 rounds, NVIDIA H200
       step ms   vs BN best vs BN  peak MiB   vs BN windows MiB
BN        10.1   1.00x      1.00x       300   1.00x           0
CBN       16.2   1.61x      1.55x       581   1.94x         270
GN        11.3   1.12x      1.10x       300   1.00x           0
'''
SEMI_LOG = '''# NVIDIA H200, torch 2.11.0+cu130, fp16
4096x4096, 2048 tokens: dense 0.251 ms, 2:4 0.190 ms, 1.32x
'''


def test_summary_reads_the_figures_of_each_part(tmp_path):
    summary = load_script('benchmarks/gpu/summary.py')
    (tmp_path / 'parts.tsv').write_text(
        'tests\tfailed (exit 1)\t12\t\ncbn\tok\t30\t\n'
        'semi\ttimeout\t90\tstopped at its 90 s limit\n')
    (tmp_path / 'tests.log').write_text(
        '..F.\n=== 3 passed, 1 failed, 2 warnings in 8.21s ===\n')
    (tmp_path / 'cbn.log').write_text(CBN_LOG)
    (tmp_path / 'semi.log').write_text(SEMI_LOG)
    table = summary.markdown(summary.summarize(str(tmp_path)))
    assert ('| tests: CUDA-only tests | failed (exit 1) | 12 s | 3 passed, 1 '
            'failed, 2 warnings in 8.21 s |') in table
    assert ('224x224 tf32: CBN 1.61x BN (16.2 ms), GN 1.12x BN (11.3 ms); '
            'CUDA graphs bit-equal to eager |') in table
    assert ('| timeout | 90 s | stopped at its 90 s limit; 4096x4096: 1.32x '
            '(0.251 -> 0.190 ms) |') in table
    assert summary.semi_figures(
        'semi-structured 2:4: not run here: no CUDA device.') == \
        'not run here: no CUDA device.'
