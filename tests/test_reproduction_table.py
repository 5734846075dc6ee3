"""tools/analysis_tools/reproduction_table.py: metafiles + mmengine logs ->
markdown tables, saved results and README regions.

Synthetic work dirs in the layout mmengine writes (``<ts>/<ts>.json`` of
``tools/test.py``, ``<ts>/vis_data/scalars.json`` of training, the dumped
``<config>.py``) are matched to temporary metafiles; one test checks the
repo's own READMEs against the repo's metafiles and saved results, one the
run plan of tools/reproduce_small.sh.
"""
import json
import os.path as osp
import re
from typing import Dict, List, Optional

import pytest
import yaml

from _helpers.runs import REPO_ROOT, load_script, run_tool

tool = load_script('tools/analysis_tools/reproduction_table.py')


def model(name: str, task: str, dataset: str, metrics: dict) -> dict:
    """A metafile ``Models`` entry of the collection 'Plug'."""
    return {'Name': name, 'In Collection': 'Plug',
            'Config': f'configs/plug/{name}.py',
            'Results': [{'Task': task, 'Dataset': dataset,
                         'Metrics': metrics}]}


METAFILE = {
    'Collections': [{'Name': 'Plug', 'README': 'projects/plug/README.md',
                     'Paper': {'Title': 'Plug', 'URL': 'https://x'}}],
    'Models': [
        model('cls', 'Image Classification', 'ImageNet-1k',
              {'Top 1 Accuracy': 81.8, 'Top 5 Accuracy': 95.9}),
        model('det', 'Instance Segmentation', 'COCO',
              {'box AP': 48.1, 'mask AP': 42.9}),
        model('seg', 'Semantic Segmentation', 'ADE20K',
              {'mIoU': 50.0, 'mIoU(ms+flip)': 51.0}),
        model('video', 'Action Recognition', 'Kinetics-400',
              {'Top 1 Accuracy': 80.0}),
        model('unrun', 'Image Classification', 'ImageNet-1k',
              {'Top 1 Accuracy': 84.0}),
        # no paper number: the tasks' metrics once each, paper '—', no Δ
        dict(model('nonum', 'Object Detection', 'COCO', {}), Results=[
            {'Task': 'Object Detection', 'Dataset': 'COCO', 'Metrics': {}},
            {'Task': 'Instance Segmentation', 'Dataset': 'COCO'}]),
    ],
    'SmallData': [
        {'Name': 'small-cls', 'Config': 'configs/plug/small-cls.py',
         'Task': 'Image Classification', 'Dataset': 'small ImageNet',
         'Metric': 'accuracy/top1'},
        {'Name': 'small-det', 'Config': 'configs/plug/small-det.py',
         'Task': 'Object Detection', 'Dataset': 'small COCO',
         'Metric': 'coco/bbox_mAP'},
        {'Name': 'small-unrun', 'Config': 'configs/plug/small-unrun.py',
         'Task': 'Image Classification', 'Dataset': 'small ImageNet',
         'Metric': 'accuracy/top1',
         'Load From': 'configs/plug/small-cls.py'},
        {'Name': 'small-pre', 'Config': 'configs/plug/small-pre.py',
         'Task': 'Self-supervised Learning', 'Dataset': 'small ImageNet',
         'Metric': 'loss'},
    ],
}
README = ('# Plug\n\n## Results\n\nprose before\n\n'
          f'{tool.BEGIN}\nold table\n{tool.END}\n\nprose after\n')


@pytest.fixture
def root(tmp_path):
    """A repo-shaped folder: model-index.yml, one metafile, one README."""
    (tmp_path / 'configs' / 'plug').mkdir(parents=True)
    (tmp_path / 'configs' / 'plug' / 'metafile.yml').write_text(
        yaml.safe_dump(METAFILE, sort_keys=False))
    (tmp_path / 'model-index.yml').write_text(
        'Import:\n  - configs/plug/metafile.yml\n')
    (tmp_path / 'projects' / 'plug').mkdir(parents=True)
    (tmp_path / 'projects' / 'plug' / 'README.md').write_text(README)
    return tmp_path


def write_test(work_dir, config: str, ts: str, metrics: dict,
               tta: bool = False) -> None:
    """What ``tools/test.py`` leaves in its work dir."""
    run = work_dir / ts
    (run / 'vis_data').mkdir(parents=True)
    (work_dir / f'{config}.py').write_text("model = dict(type='X')\n")
    model = "dict(type='SegTTAModel', module=dict(type='X'))" if tta \
        else "dict(type='X')"
    (run / 'vis_data' / 'config.py').write_text(f'model = {model}\n')
    (run / f'{ts}.json').write_text(json.dumps(
        {**metrics, 'data_time': 0.01, 'time': 0.2}))
    (run / f'{ts}.log').write_text(f'test log {ts}\n')


def write_train(work_dir, config: str, ts: str,
                val: Optional[dict] = None) -> None:
    """What ``tools/train.py`` leaves: scalars.json (losses, validation)."""
    run = work_dir / ts
    (run / 'vis_data').mkdir(parents=True)
    (work_dir / f'{config}.py').write_text("model = dict(type='X')\n")
    records = [{'loss': 1.0, 'lr': 0.1, 'step': 1}]
    if val:
        records.append({**val, 'data_time': 0.01, 'step': 2})
    (run / 'vis_data' / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))
    (run / f'{ts}.log').write_text(f'train log {ts}\n')


def make_runs(base) -> List[str]:
    """Work dirs of every kind, named after their configs."""
    dirs = {}
    for name in ('cls', 'det', 'seg', 'video', 'nonum', 'small-cls',
                 'small-det', 'small-pre'):
        dirs[name] = base / name
    write_train(dirs['cls'], 'cls', '20240101_000000')
    write_test(dirs['cls'], 'cls', '20240101_010000',
               {'accuracy/top1': 70.0, 'accuracy/top5': 90.0})
    write_test(dirs['cls'], 'cls', '20240102_010000',  # newest: this one
               {'accuracy/top1': 82.3, 'accuracy/top5': 95.4})
    write_test(dirs['det'], 'det', '20240101_010000',
               {'coco/bbox_mAP': 0.471, 'coco/segm_mAP': 0.435})
    write_test(dirs['seg'], 'seg', '20240101_010000', {'mIoU': 49.5})
    write_test(dirs['seg'], 'seg', '20240101_020000', {'mIoU': 51.7},
               tta=True)
    write_test(dirs['video'], 'video', '20240101_010000',
               {'acc/top1': 0.8125, 'acc/mean1': 0.8})
    # no test run: the training's last validation, labelled
    write_train(dirs['small-cls'], 'small-cls', '20240103_000000',
                {'accuracy/top1': 62.5})
    write_test(dirs['small-det'], 'small-det', '20240104_000000',
               {'coco/bbox_mAP': 0.123})
    write_test(dirs['nonum'], 'nonum', '20240101_010000',
               {'coco/bbox_mAP': 0.3, 'coco/segm_mAP': 0.25})
    # pre-training: no evaluation at all, the last logged loss
    write_train(dirs['small-pre'], 'small-pre', '20240105_000000')
    return [str(d) for d in dirs.values()]


def tables(markdown: str) -> Dict[str, List[Dict[str, str]]]:
    """'paper' / 'small' -> rows of the markdown tables as dicts."""
    found: Dict[str, List[Dict[str, str]]] = {'paper': [], 'small': []}
    kind, header = None, None
    for line in markdown.splitlines():
        if line.startswith('**'):
            kind = 'small' if tool.SMALL_TITLE in line else 'paper'
        elif line.startswith('|') and not line.startswith('|---'):
            cells = [c.strip() for c in line.strip('|').split(' | ')]
            if cells[0] == 'config':
                header = cells
            else:
                row = dict(zip(header, cells))
                row['config'] = re.match(r'\[(.*?)\]', row['config'])[1]
                found[kind].append(row)
    return found


def cell(rows, config: str, metric: str, column: str) -> str:
    [row] = [r for r in rows if r['config'] == config and
             r['metric'].strip('`') == metric]
    return row[column]


def run_main(args, capsys) -> str:
    assert tool.main([str(a) for a in args]) == 0
    return capsys.readouterr().out


def test_paper_table_values_units_delta_and_newest_run(root, tmp_path, capsys):
    work_dirs = make_runs(tmp_path / 'work_dirs')
    out = run_main([*work_dirs, '--metafiles', root / 'model-index.yml',
                    '--out', root / 'results.md'], capsys)
    paper = tables(out)['paper']
    expected = {  # (config, metric): (ours, delta); units of each evaluator
        ('cls', 'Top 1 Accuracy'): ('82.30', '+0.50'),  # newest of two tests
        ('cls', 'Top 5 Accuracy'): ('95.40', '-0.50'),
        ('det', 'box AP'): ('47.10', '-1.00'),  # mmdet logs fractions
        ('det', 'mask AP'): ('43.50', '+0.60'),
        ('seg', 'mIoU'): ('49.50', '-0.50'),  # mmseg logs percent
        ('seg', 'mIoU(ms+flip)'): ('51.70', '+0.70'),  # the --tta test
        ('video', 'Top 1 Accuracy'): ('81.25', '+1.25'),  # mmaction fractions
        ('unrun', 'Top 1 Accuracy'): ('not run', ''),
        ('nonum', 'box AP'): ('30.00', ''),
        ('nonum', 'mask AP'): ('25.00', ''),
    }
    got = {(r['config'], r['metric']): (r['ours'], r['Δ']) for r in paper}
    assert got == expected and len(paper) == len(expected)
    assert cell(paper, 'cls', 'Top 1 Accuracy', 'paper') == '81.8'
    assert cell(paper, 'nonum', 'mask AP', 'paper') == '—'
    # links relative to the output: the config and the run's logs
    link = osp.relpath(osp.join(work_dirs[0], '20240102_010000',
                                '20240102_010000.log'), str(root))
    assert f'[test]({link})' in open(root / 'results.md').read()
    assert cell(paper, 'unrun', 'Top 1 Accuracy', 'log') == ''


def test_small_data_section(root, tmp_path, capsys):
    out = run_main([*make_runs(tmp_path / 'w'), '--metafiles',
                    root / 'model-index.yml'], capsys)
    found = tables(out)
    assert f'Plug: {tool.SMALL_TITLE}' in out
    small = found['small']
    assert cell(small, 'small-cls', 'accuracy/top1', 'value') == \
        '62.50 % (val)'  # no test run: the training's validation, labelled
    assert cell(small, 'small-det', 'coco/bbox_mAP', 'value') == '12.30 %'
    assert cell(small, 'small-pre', 'loss', 'value') == \
        '1 (last training log)'
    assert cell(small, 'small-det', 'coco/bbox_mAP', 'date') == '2024-01-04'
    assert cell(small, 'small-unrun', 'accuracy/top1', 'value') == \
        'not run'
    assert not {r['config'] for r in found['paper']} & \
        {'small-cls', 'small-det'}


def test_saved_results_regenerate_the_readme(root, tmp_path, capsys):
    """--save-results + --update-readmes; then the README is what the saved
    file alone generates (no work dirs), and the rewrite is idempotent."""
    index = root / 'model-index.yml'
    saved = root / 'benchmarks' / 'results' / 'small_data.json'
    run_main([*make_runs(tmp_path / 'w'), '--metafiles', index,
              '--save-results', saved, '--update-readmes'], capsys)
    readme = root / 'projects' / 'plug' / 'README.md'
    text = readme.read_text()
    assert text.startswith('# Plug\n\n## Results\n\nprose before\n\n')
    assert text.endswith(f'{tool.END}\n\nprose after\n')
    assert 'old table' not in text and '| 82.30 | +0.50 |' in text
    # the logs are copied next to the results file, the links follow them
    assert '(../../benchmarks/results/logs/small-det/test.log)' in text
    assert (saved.parent / 'logs' / 'small-det' / 'test.log').read_text() \
        == 'test log 20240104_000000\n'
    entries = json.loads(saved.read_text())['results']
    assert {e['config'] for e in entries} == {
        'cls', 'det', 'seg', 'video', 'nonum', 'small-cls', 'small-det',
        'small-pre'}
    run_main(['--metafiles', index, '--check-readmes'], capsys)
    run_main(['--metafiles', index, '--update-readmes'], capsys)
    assert readme.read_text() == text


def test_check_readmes_fails_on_a_stale_table(root, capsys):
    index = root / 'model-index.yml'
    run_main(['--metafiles', index, '--update-readmes'], capsys)
    readme = root / 'projects' / 'plug' / 'README.md'
    readme.write_text(readme.read_text().replace('| 81.8 |', '| 80.8 |', 1))
    assert tool.main(['--metafiles', str(index), '--check-readmes']) == 1
    err = capsys.readouterr().err
    assert 'projects/plug/README.md: the reproduction table is out of date' \
        in err and '--update-readmes' in err
    assert '-| [cls]' in err and '+| [cls]' in err  # the diff


def test_bad_input_names_the_file_and_field(root):
    (root / 'projects' / 'plug' / 'README.md').write_text('# no markers\n')
    with pytest.raises(tool.InputError, match='projects/plug/README.md.*'
                       'reproduction-table:begin'):
        tool.main(['--metafiles', str(root / 'model-index.yml'),
                   '--update-readmes'])
    broken = dict(METAFILE, Models=[{'Name': 'x', 'In Collection': 'Plug'}])
    (root / 'configs' / 'plug' / 'metafile.yml').write_text(
        yaml.safe_dump(broken))
    with pytest.raises(tool.InputError, match=r'Models\[0\]: missing `Config'):
        tool.main(['--metafiles', str(root / 'model-index.yml')])


def test_repo_readmes_equal_the_generated_tables(capsys):
    """The project READMEs hold what the metafiles and
    benchmarks/results/*.json generate; fix: the --update-readmes command."""
    assert tool.main(['--metafiles', osp.join(REPO_ROOT, 'model-index.yml'),
                      '--check-readmes']) == 0, capsys.readouterr().err


def test_list_small_data(root, capsys):
    out = run_main(['--metafiles', root / 'model-index.yml',
                    '--list-small-data'], capsys)
    assert out.split() == [
        'configs/plug/small-cls.py', 'configs/plug/small-det.py',
        'configs/plug/small-unrun.py@configs/plug/small-cls.py',
        'configs/plug/small-pre.py']


def test_reproduce_small_plans_dependencies_first(tmp_path):
    """--only keeps the fine-tuning config, which pulls in the pre-training
    it reads from work_dirs/<stem>/ (moved into the work root); CONFIG@FROM
    pulls in FROM, whose last checkpoint it loads; only runs with a test
    loop are tested."""
    small = 'configs/{0}/small/{1}_small-imagenet.py'
    tuned = small.format('simmim', 'swin-micro_simmim-pre')
    probe = 'configs/icar/icar_swinv2-tiny_{}_small-imagenet-captions.py'
    out = run_tool(['tools/reproduce_small.sh', '--dry-run', '--only',
                    'simmim-pre|probe', '--work-root', 'wd/small',
                    small.format('moby', 'moby_swin-micro'), tuned,
                    probe.format('4-shot-probe') + '@' + probe.format('joint')],
                   cwd=REPO_ROOT, timeout=300).stdout
    plan = [line.split('\t') for line in out.strip().splitlines()]
    # config, tested, asked for, loads the checkpoint of, overrides
    assert [row[:4] for row in plan] == [
        [small.format('simmim', 'simmim_swin-micro'), '0', '0', '-'],
        [tuned, '1', '1', '-'],
        [probe.format('joint'), '1', '0', '-'],
        [probe.format('4-shot-probe'), '1', '1',
         'icar_swinv2-tiny_joint_small-imagenet-captions']]
    assert 'model.backbone.init_cfg.checkpoint=wd/small/simmim_swin-micro_' \
        'small-imagenet/epoch_40.pth' in plan[1][4].split()
