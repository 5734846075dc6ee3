#!/usr/bin/env python
"""Reproduction tables: the papers' numbers (metafiles) next to our runs.

    python tools/analysis_tools/reproduction_table.py [WORK_DIR ...]
        [--metafiles model-index.yml] [--results FILE.json ...]
        [--out results.md] [--save-results FILE.json]
        [--update-readmes | --check-readmes] [--list-small-data]

Each WORK_DIR is one run: the newest test metrics ``tools/test.py`` wrote
there (``<work_dir>/<timestamp>/<timestamp>.json``; a ``--tta`` test
separately), else the last validation record of the training log
(``vis_data/scalars.json``, marked "val"), else (pre-training) its last
logged losses.  Its config is the one the run
dumped (``<work_dir>/<config stem>.py``), else the dir's name.  Runs are
matched to the metafiles' ``Models`` by config stem (paper vs ours, Δ, in the
paper's units; a model without a paper number shows its task's metrics) and
to their ``SmallData`` lists (small data on CPU, a table of their own).  ``--results`` adds runs saved before by ``--save-results``
(default: ``benchmarks/results/*.json``); the README tables are made from the
metafiles and those files alone, so ``--check-readmes`` needs no runs.
"""
import argparse
import datetime
import difflib
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import yaml

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BEGIN = '<!-- reproduction-table:begin -->'
END = '<!-- reproduction-table:end -->'
FIX = 'python tools/analysis_tools/reproduction_table.py --update-readmes'
SMALL_TITLE = 'Small data, CPU — not comparable to the paper'

#: metafile metric name -> (mmengine key, factor to the paper's percent);
#: the first key a run logged is used (images log accuracy/*, videos acc/*)
PAPER_METRICS: Dict[str, Tuple[Tuple[str, float], ...]] = {
    'Top 1 Accuracy': (('accuracy/top1', 1.0), ('acc/top1', 100.0)),
    'Top 5 Accuracy': (('accuracy/top5', 1.0), ('acc/top5', 100.0)),
    'box AP': (('coco/bbox_mAP', 100.0), ),
    'mask AP': (('coco/segm_mAP', 100.0), ),
    'mIoU': (('mIoU', 1.0), ),
    'mIoU(ms+flip)': (('mIoU', 1.0), ),
}
#: metric names whose numbers come from a test-time-augmented run
TTA_METRICS = ('mIoU(ms+flip)', )
#: the rows of a model whose metafile entry has no paper number
TASK_METRICS: Dict[str, Tuple[str, ...]] = {
    'Image Classification': ('Top 1 Accuracy', ),
    'Action Recognition': ('Top 1 Accuracy', ),
    'Object Detection': ('box AP', ),
    'Instance Segmentation': ('box AP', 'mask AP'),
    'Semantic Segmentation': ('mIoU', ),
}
NO_NUMBER = '—'
#: how a value that is not a test metric is labelled
SOURCE_LABEL = {'test': '', 'val': ' (val)', 'train': ' (last training log)'}
#: mmengine key -> factor to percent (mmpretrain and mmseg log percent,
#: mmdet and mmaction2 fractions); other keys are shown as logged
KEY_PERCENT: Dict[str, float] = {
    'accuracy/top1': 1.0, 'accuracy/top5': 1.0,
    'mean_per_class/accuracy': 1.0,
    'acc/top1': 100.0, 'acc/top5': 100.0, 'acc/mean1': 100.0,
    'coco/bbox_mAP': 100.0, 'coco/bbox_mAP_50': 100.0,
    'coco/segm_mAP': 100.0, 'coco/segm_mAP_50': 100.0,
    'mIoU': 1.0, 'mAcc': 1.0, 'aAcc': 1.0,
}
#: entries of mmengine's logs that are not metrics
NOT_METRICS = ('time', 'data_time', 'step', 'epoch', 'iter', 'lr', 'memory')


class InputError(Exception):
    """A file or argument the tool cannot use; the message says the fix."""


# ----------------------------------------------------------------- metafiles
@dataclass
class PaperRow:
    """One metric of one metafile ``Models`` entry."""
    config: str  # path relative to the root
    task: str
    dataset: str
    metric: str  # metafile name, e.g. 'Top 1 Accuracy'
    paper: object  # as the metafile writes it


@dataclass
class SmallRow:
    """One metric of one ``SmallData`` entry."""
    config: str
    task: str
    dataset: str
    metric: str  # mmengine key, e.g. 'accuracy/top1'
    load_from: str = ''  # config whose last checkpoint this run starts from


@dataclass
class Collection:
    """A metafile collection: the README it belongs to and its rows."""
    name: str
    readme: str  # path relative to the root
    paper: List[PaperRow] = field(default_factory=list)
    small: List[SmallRow] = field(default_factory=list)


def _require(entry: dict, key: str, where: str):
    if not isinstance(entry, dict) or entry.get(key) in (None, ''):
        raise InputError(f'{where}: missing `{key}` (see the metafile format '
                         'in configs/<plugin>/metafile.yml).')
    return entry[key]


def _load_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise InputError(f'{path} does not exist.')
    with open(path) as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise InputError(f'{path}: expected a YAML mapping at the top.')
    return data


def model_rows(config: str, model: dict) -> List[PaperRow]:
    """The rows of one ``Models`` entry: one per paper metric; a result
    without numbers gets its task's metrics (paper '—'), each metric once."""
    rows: List[PaperRow] = []
    for result in model.get('Results') or []:
        task, dataset = result.get('Task', ''), result.get('Dataset', '')
        for metric, value in (result.get('Metrics') or {}).items():
            rows.append(PaperRow(config, task, dataset, metric, value))
    for result in model.get('Results') or []:
        if result.get('Metrics'):
            continue
        task, dataset = result.get('Task', ''), result.get('Dataset', '')
        for metric in TASK_METRICS.get(task, (NO_NUMBER, )):
            if all(row.metric != metric for row in rows):
                rows.append(PaperRow(config, task, dataset, metric,
                                     NO_NUMBER))
    return rows


def load_metafile(path: str) -> List[Collection]:
    """The collections of one ``metafile.yml`` with their paper rows and
    small-data rows (``SmallData`` entries belong to its first collection)."""
    data = _load_yaml(path)
    collections: Dict[str, Collection] = {}
    for i, entry in enumerate(data.get('Collections') or []):
        where = f'{path}: Collections[{i}]'
        name = _require(entry, 'Name', where)
        collections[name] = Collection(
            name, osp.normpath(_require(entry, 'README', where)))
    if not collections:
        raise InputError(f'{path}: no `Collections` (each metafile names its '
                         'collection with Name and README).')
    for i, model in enumerate(data.get('Models') or []):
        where = f'{path}: Models[{i}]'
        owner = _require(model, 'In Collection', where)
        if owner not in collections:
            raise InputError(f'{where}: `In Collection: {owner}` is not a '
                             'collection of this file '
                             f'({sorted(collections)})')
        config = osp.normpath(_require(model, 'Config', where))
        collections[owner].paper += model_rows(config, model)
    first = next(iter(collections.values()))
    for i, entry in enumerate(data.get('SmallData') or []):
        where = f'{path}: SmallData[{i}]'
        config = osp.normpath(_require(entry, 'Config', where))
        metrics = _require(entry, 'Metric', where)
        load_from = osp.normpath(entry['Load From']) \
            if entry.get('Load From') else ''
        for metric in [metrics] if isinstance(metrics, str) else metrics:
            first.small.append(SmallRow(config, entry.get('Task', ''),
                                        entry.get('Dataset', ''), metric,
                                        load_from))
    return list(collections.values())


def load_index(index: str) -> List[Collection]:
    """Every collection of the metafiles a ``model-index.yml`` imports."""
    data = _load_yaml(index)
    imports = data.get('Import')
    if not imports:
        raise InputError(f'{index}: no `Import:` list of metafiles.')
    root = osp.dirname(osp.abspath(index))
    collections = []
    for path in imports:
        full = osp.join(root, path)
        if not osp.isfile(full):
            raise InputError(f'{index} imports {path}, which does not exist '
                             f'(fix the `Import:` list).')
        collections += load_metafile(full)
    return collections


# ---------------------------------------------------------------------- runs
@dataclass
class Run:
    """The metrics of one evaluation of one config, with where they came
    from; ``logs`` maps 'train'/'test' to log files (absolute paths)."""
    config: str  # config stem
    metrics: Dict[str, float]
    source: str  # 'test', 'val' or 'train' (the last logged training loss)
    tta: bool
    timestamp: str  # mmengine's YYYYMMDD_HHMMSS
    commit: str = ''
    logs: Dict[str, str] = field(default_factory=dict)

    @property
    def date(self) -> str:
        """The run's day, YYYY-MM-DD."""
        try:
            return datetime.datetime.strptime(
                self.timestamp, '%Y%m%d_%H%M%S').strftime('%Y-%m-%d')
        except ValueError:
            return self.timestamp


def _numbers(record: dict) -> Dict[str, float]:
    return {k: float(v) for k, v in record.items()
            if k not in NOT_METRICS and isinstance(v, (int, float))
            and not isinstance(v, bool)}


def config_stem(work_dir: str) -> str:
    """The config a work dir belongs to: the one the run dumped there (named
    like the dir, else the newest), else the dir's name."""
    name = osp.basename(osp.normpath(work_dir))
    dumped = glob.glob(osp.join(work_dir, '*.py'))
    if not dumped:
        return name
    stems = [osp.splitext(osp.basename(p))[0] for p in dumped]
    if name in stems:
        return name
    return osp.splitext(osp.basename(max(dumped, key=osp.getmtime)))[0]


def _is_tta(run_dir: str) -> bool:
    """Whether a test run wrapped its model for test-time augmentation (the
    config mmengine saved in ``vis_data/config.py``)."""
    path = osp.join(run_dir, 'vis_data', 'config.py')
    if not osp.isfile(path):
        return False
    from mmengine.config import Config
    model = Config.fromfile(path, import_custom_modules=False).get(
        'model') or {}
    return str(model.get('type', '')).endswith('TTAModel')


def _log(run_dir: str) -> Optional[str]:
    path = osp.join(run_dir, osp.basename(run_dir) + '.log')
    return path if osp.isfile(path) else None


def _train_dirs(work_dir: str) -> List[str]:
    return sorted(osp.dirname(osp.dirname(p)) for p in glob.glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json')))


def read_work_dir(work_dir: str, commit: str = '') -> List[Run]:
    """The runs of a work dir: its newest test (and newest ``--tta`` test),
    else the last validation record of its newest training, else (a
    training without evaluation, e.g. pre-training) its last logged loss
    record."""
    if not osp.isdir(work_dir):
        raise InputError(f'work dir {work_dir} does not exist.')
    config = config_stem(work_dir)
    trains = _train_dirs(work_dir)
    train_log = _log(trains[-1]) if trains else None
    tests = sorted(
        osp.dirname(p) for p in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(p)[:-5] == osp.basename(osp.dirname(p)))
    newest: Dict[bool, str] = {}
    for run_dir in tests:  # oldest first: the newest of each kind stays
        newest[_is_tta(run_dir)] = run_dir
    runs = []
    for tta, run_dir in sorted(newest.items()):
        with open(osp.join(run_dir, osp.basename(run_dir) + '.json')) as f:
            metrics = _numbers(json.load(f))
        logs = {'train': train_log, 'test': _log(run_dir)}
        runs.append(Run(config, metrics, 'test', tta, osp.basename(run_dir),
                        commit, {k: v for k, v in logs.items() if v}))
    if runs or not trains:
        return runs
    records = []
    with open(osp.join(trains[-1], 'vis_data', 'scalars.json')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    evaluations = [r for r in records if 'loss' not in r and _numbers(r)]
    losses = [r for r in records if 'loss' in r]
    if not (evaluations or losses):
        return []
    source, record = ('val', evaluations[-1]) if evaluations else \
        ('train', losses[-1])
    logs = {'train': train_log} if train_log else {}
    return [Run(config, _numbers(record), source, False,
                osp.basename(trains[-1]), commit, logs)]


def git_commit(root: str) -> str:
    """``git describe --always --dirty`` of the repo, '' outside git."""
    try:
        out = subprocess.run(
            ['git', '-C', root, 'describe', '--always', '--dirty'],
            capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ''
    return out.stdout.strip() if out.returncode == 0 else ''


def load_results(path: str) -> List[Run]:
    """Runs saved by ``--save-results`` (log paths relative to the file)."""
    try:
        with open(path) as f:
            data = json.load(f)
        entries = data['results']
        runs = [Run(**{k: v for k, v in entry.items() if k != 'date'})
                for entry in entries]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(f'{path}: not a results file of this tool ({err}); '
                         'write it with --save-results.') from err
    base = osp.dirname(osp.abspath(path))
    for run in runs:
        run.logs = {k: osp.normpath(osp.join(base, v))
                    for k, v in run.logs.items()}
    return runs


def merge(runs: Iterable[Run]) -> Dict[Tuple[str, bool], Run]:
    """The newest run per (config, tta); on a tie the later one."""
    best: Dict[Tuple[str, bool], Run] = {}
    for run in runs:
        key = (run.config, run.tta)
        if key not in best or run.timestamp >= best[key].timestamp:
            best[key] = run
    return best


def save_results(path: str, runs: Sequence[Run]) -> List[Run]:
    """Merge ``runs`` into the results file ``path``; their logs are copied
    next to it (``logs/<config>/``) so that the links stay valid in the
    repo.  Returns the runs as saved (log paths pointing at the copies)."""
    base = osp.dirname(osp.abspath(path))
    saved = []
    for run in runs:
        logs = {}
        for kind, log in sorted(run.logs.items()):
            suffix = '-tta' if run.tta and kind == 'test' else ''
            copy = osp.join(base, 'logs', run.config, f'{kind}{suffix}.log')
            if osp.abspath(log) != copy:
                os.makedirs(osp.dirname(copy), exist_ok=True)
                shutil.copyfile(log, copy)
            logs[kind] = copy
        saved.append(Run(**{**asdict(run), 'logs': logs}))
    old = load_results(path) if osp.isfile(path) else []
    merged = sorted(merge(old + saved).values(),
                    key=lambda r: (r.config, r.tta))
    entries = []
    for run in merged:
        entry = asdict(run)
        entry['date'] = run.date
        entry['logs'] = {k: osp.relpath(v, base)
                         for k, v in run.logs.items()}
        entries.append(entry)
    os.makedirs(base, exist_ok=True)
    with open(path, 'w') as f:
        json.dump({'description': 'Runs collected by tools/analysis_tools/'
                   'reproduction_table.py (metrics as mmengine logged them).',
                   'results': entries}, f, indent=1)
        f.write('\n')
    return saved


# -------------------------------------------------------------------- tables
def _stem(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]


def paper_value(run: Run, metric: str) -> Optional[float]:
    """The run's number for a metafile metric, in the paper's percent."""
    for key, factor in PAPER_METRICS.get(metric, ()):
        if key in run.metrics:
            return run.metrics[key] * factor
    return None


def _number(value) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _link(text: str, path: str, base: str) -> str:
    return f'[{text}]({osp.relpath(path, base)})'


def _logs(run: Run, base: str) -> str:
    kinds = sorted(run.logs, key=lambda kind: kind != 'train')
    return ' · '.join(_link(kind, run.logs[kind], base) for kind in kinds)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return ['| ' + ' | '.join(header) + ' |',
            '|' + '---|' * len(header)] + [
                '| ' + ' | '.join(row) + ' |' for row in rows]


def paper_table(collection: Collection, runs: Dict[Tuple[str, bool], Run],
                root: str, base: str) -> List[str]:
    """Config, task/dataset, metric, paper, ours, Δ and logs, one row per
    metafile metric; a config without a run says "not run"."""
    rows = []
    for row in collection.paper:
        tta = row.metric in TTA_METRICS
        run = runs.get((_stem(row.config), tta))
        ours, delta, logs = 'not run', '', ''
        if run is not None:
            value = paper_value(run, row.metric)
            logs = _logs(run, base)
            if value is None:
                ours = 'not logged'
            else:
                ours = f'{value:.2f}{SOURCE_LABEL[run.source]}'
                paper = _number(row.paper)
                delta = '' if paper is None else f'{value - paper:+.2f}'
        rows.append([_link(_stem(row.config), osp.join(root, row.config),
                           base),
                     ' / '.join(x for x in (row.task, row.dataset) if x),
                     row.metric, str(row.paper), ours, delta, logs])
    return _table(['config', 'task / dataset', 'metric', 'paper', 'ours',
                   'Δ', 'log'], rows)


def small_value(run: Run, key: str) -> Optional[str]:
    """A small-data metric, in percent where the key's unit is known."""
    if key not in run.metrics:
        return None
    if key in KEY_PERCENT:
        return f'{run.metrics[key] * KEY_PERCENT[key]:.2f} %'
    return f'{run.metrics[key]:.4g}'



def small_table(collection: Collection, runs: Dict[Tuple[str, bool], Run],
                root: str, base: str) -> List[str]:
    """The small-data runs: config, dataset, metric, value, date, commit."""
    rows = []
    for row in collection.small:
        run = runs.get((_stem(row.config), False))
        cells = ['not run', '', '', '']
        if run is not None:
            value = small_value(run, row.metric)
            cells = [('not logged' if value is None
                      else value + SOURCE_LABEL[run.source]),
                     run.date, f'`{run.commit}`' if run.commit else '',
                     _logs(run, base)]
        rows.append([_link(_stem(row.config), osp.join(root, row.config),
                           base),
                     ' / '.join(x for x in (row.task, row.dataset) if x),
                     f'`{row.metric}`'] + cells)
    return _table(['config', 'task / dataset', 'metric', 'value', 'date',
                   'commit', 'log'], rows)


def render(collections: Sequence[Collection],
           runs: Dict[Tuple[str, bool], Run], root: str, base: str) -> str:
    """Markdown for these collections; links relative to ``base``."""
    lines = []
    for collection in collections:
        if collection.paper:
            lines += [f'**{collection.name}: paper vs this repo** (paper '
                      'and ours in %; Δ = ours − paper)', '']
            lines += paper_table(collection, runs, root, base) + ['']
        if collection.small:
            lines += [f'**{collection.name}: {SMALL_TITLE}** (the small '
                      'datasets of `tools/dataset_converters/'
                      'make_small_datasets.py`, made by '
                      '`bash tools/reproduce_small.sh`)', '']
            lines += small_table(collection, runs, root, base) + ['']
    return '\n'.join(lines)


# ------------------------------------------------------------------- READMEs
def replace_region(text: str, content: str, where: str) -> str:
    """``text`` with everything between the markers replaced by
    ``content``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or \
            text.index(BEGIN) > text.index(END):
        raise InputError(
            f'{where}: needs one `{BEGIN}` and, after it, one `{END}` line in '
            'its Results section (the generated tables go between them).')
    head, rest = text.split(BEGIN)
    tail = rest.split(END)[1]
    return f'{head}{BEGIN}\n{content}\n{END}{tail}'


def readme_updates(collections: Sequence[Collection],
                   runs: Dict[Tuple[str, bool], Run],
                   root: str) -> Dict[str, Tuple[str, str]]:
    """README path -> (current text, text with regenerated tables)."""
    readmes: Dict[str, List[Collection]] = {}
    for collection in collections:
        readmes.setdefault(collection.readme, []).append(collection)
    updates = {}
    for readme, owned in readmes.items():
        path = osp.join(root, readme)
        if not osp.isfile(path):
            raise InputError(f'README {readme} of collection '
                             f'{owned[0].name} does not exist (fix the '
                             'collection\'s `README:` in its metafile).')
        with open(path) as f:
            text = f.read()
        content = render(owned, runs, root, osp.dirname(path)).rstrip('\n')
        updates[readme] = (text, replace_region(text, content, readme))
    return updates


def check_readmes(updates: Dict[str, Tuple[str, str]]) -> List[str]:
    """A message with a diff for every README whose tables are stale."""
    problems = []
    for readme, (old, new) in sorted(updates.items()):
        if old != new:
            diff = ''.join(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True),
                f'{readme} (now)', f'{readme} (generated)'))
            problems.append(f'{readme}: the reproduction table is out of '
                            f'date; regenerate it with `{FIX}`.\n{diff}')
    return problems


# ----------------------------------------------------------------------- CLI
def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[6:]))
    parser.add_argument('work_dirs', nargs='*', metavar='WORK_DIR',
                        help='work dirs of tools/train.py / tools/test.py')
    parser.add_argument('--metafiles', default=osp.join(REPO_ROOT,
                                                        'model-index.yml'),
                        help='the model-index.yml that imports the '
                        'metafiles; paths in them are relative to its dir')
    parser.add_argument('--results', nargs='+', metavar='FILE.json',
                        help='runs saved by --save-results (default: '
                        '<root>/benchmarks/results/*.json)')
    parser.add_argument('--out', help='write the tables to this markdown file')
    parser.add_argument('--save-results', metavar='FILE.json',
                        help='merge the runs of WORK_DIRs into this file and '
                        'copy their logs next to it')
    action = parser.add_mutually_exclusive_group()
    action.add_argument('--update-readmes', action='store_true',
                        help='rewrite the tables between the markers of '
                        'each project README')
    action.add_argument('--check-readmes', action='store_true',
                        help='exit 1 when a README table is out of date')
    action.add_argument('--list-small-data', action='store_true',
                        help='print the SmallData configs (CONFIG, or '
                        'CONFIG@LOAD_FROM_CONFIG for a `Load From` entry) '
                        'and stop')
    return parser.parse_args(argv)


def collect(args: argparse.Namespace, root: str) -> List[Run]:
    """Saved runs (``--results``), then the work dirs' runs (saved into
    ``--save-results`` first when asked)."""
    results = args.results
    if results is None:
        results = sorted(glob.glob(osp.join(root, 'benchmarks', 'results',
                                            '*.json')))
    runs = [run for path in results for run in load_results(path)]
    commit = git_commit(root) if args.work_dirs else ''
    fresh = [run for work_dir in args.work_dirs
             for run in read_work_dir(work_dir, commit)]
    for work_dir in args.work_dirs:
        if not any(run.config == config_stem(work_dir) for run in fresh):
            print(f'warning: {work_dir} holds no test metrics and no '
                  'validation record; skipped', file=sys.stderr)
    if args.save_results:
        fresh = save_results(args.save_results, fresh)
    return runs + fresh


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tool; returns the exit status."""
    args = parse_args(argv)
    root = osp.dirname(osp.abspath(args.metafiles))
    collections = load_index(args.metafiles)
    if args.list_small_data:
        configs = [f'{row.config}@{row.load_from}' if row.load_from
                   else row.config for c in collections for row in c.small]
        print('\n'.join(dict.fromkeys(configs)))
        return 0
    runs = merge(collect(args, root))
    known = {_stem(row.config) for c in collections
             for row in [*c.paper, *c.small]}
    unknown = sorted({config for config, _ in runs} - known)
    if unknown:
        print(f'warning: no metafile entry for the runs of {unknown}',
              file=sys.stderr)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(render(collections, runs, root,
                           osp.dirname(osp.abspath(args.out))))
    if not (args.update_readmes or args.check_readmes):
        print(render(collections, runs, root, os.getcwd()))
    if not (args.update_readmes or args.check_readmes):
        return 0
    updates = readme_updates(collections, runs, root)
    if args.check_readmes:
        problems = check_readmes(updates)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for readme, (old, new) in sorted(updates.items()):
        if old != new:
            with open(osp.join(root, readme), 'w') as f:
                f.write(new)
        print(f'{readme}: {"updated" if old != new else "up to date"}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except InputError as err:
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
