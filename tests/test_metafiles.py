"""The OpenMMLab metafiles and ``model-index.yml`` cover every config.

* ``model-index.yml`` imports exactly one ``configs/<plugin>/metafile.yml``
  per plugin folder;
* every config under ``configs/<plugin>/`` (``_base_`` excepted) is listed
  once: a full-size one as a ``Models`` entry, a small-data one under
  ``SmallData``; every listed config exists and its ``Name`` is its stem;
* the fields OpenMMLab's tools (``mim``, model-index) and
  ``tools/analysis_tools/reproduction_table.py`` read are present and well
  typed, with metric names from OpenMMLab's set.
"""
import os
import os.path as osp
import re
from collections import Counter
from typing import Dict, Iterator, List, Tuple

import pytest
import yaml

from _helpers import REPO_ROOT

CONFIGS = osp.join(REPO_ROOT, 'configs')
#: ``..._small-imagenet.py``, ``small-coco``: the small data sets' names
SMALL_DATA_NAME = re.compile(r'(^|_)small-')
#: config folders that are not plugins
NOT_PLUGINS = {'_base_', 'smoke'}
METRIC_NAMES = {'Top 1 Accuracy', 'Top 5 Accuracy', 'box AP', 'mask AP',
                'mIoU', 'mIoU(ms+flip)'}
TASKS = {'Image Classification', 'Object Detection', 'Instance Segmentation',
         'Semantic Segmentation', 'Action Recognition',
         'Self-supervised Learning'}


def plugins() -> List[str]:
    return sorted(d for d in os.listdir(CONFIGS)
                  if osp.isdir(osp.join(CONFIGS, d)) and d not in NOT_PLUGINS)


def is_small(rel_path: str) -> bool:
    """Small-data configs: a ``small/`` folder or a ``small-<dataset>`` part
    in the name (``swinv2-small-w8`` is the Swin-S arch, not small data)."""
    *folders, name = rel_path.split('/')
    return 'small' in folders or bool(SMALL_DATA_NAME.search(name))


def plugin_configs(plugin: str) -> Iterator[str]:
    """Repo-relative paths of a plugin's configs, ``_base_`` excepted."""
    for root, dirs, files in os.walk(osp.join(CONFIGS, plugin)):
        dirs[:] = [d for d in dirs if d != '_base_']
        for name in files:
            if name.endswith('.py') and name != '_base_.py':
                yield osp.relpath(osp.join(root, name), REPO_ROOT)


def load(path: str) -> dict:
    with open(osp.join(REPO_ROOT, path)) as f:
        return yaml.safe_load(f)


def metafile(plugin: str) -> str:
    return f'configs/{plugin}/metafile.yml'


@pytest.fixture(scope='module')
def metafiles() -> Dict[str, dict]:
    return {p: load(metafile(p)) for p in plugins()
            if osp.isfile(osp.join(REPO_ROOT, metafile(p)))}


def models(metafiles: Dict[str, dict]) -> Iterator[Tuple[str, dict]]:
    for plugin, meta in metafiles.items():
        for model in meta.get('Models') or []:
            yield plugin, model


def test_model_index_imports_one_metafile_per_plugin(metafiles):
    index = load('model-index.yml')
    imports = index['Import']
    assert len(imports) == len(set(imports)), Counter(imports)
    assert sorted(imports) == sorted(metafile(p) for p in plugins())
    missing = [p for p in plugins() if p not in metafiles]
    assert not missing, f'plugins without a metafile.yml: {missing}'


def test_every_full_size_config_has_exactly_one_entry(metafiles):
    listed = Counter((plugin, m['Config']) for plugin, m in models(metafiles))
    problems = []
    for plugin in plugins():
        for path in plugin_configs(plugin):
            if is_small(path):
                continue
            if listed[(plugin, path)] != 1:
                problems.append(f'{path}: {listed[(plugin, path)]} entries '
                                f'in {metafile(plugin)}')
    assert not problems, '\n'.join(problems)


def test_every_small_config_is_listed_under_small_data(metafiles):
    problems = []
    for plugin in plugins():
        listed = Counter(e['Config'] for e in
                         metafiles[plugin].get('SmallData') or [])
        for path in plugin_configs(plugin):
            if is_small(path) and listed[path] != 1:
                problems.append(f'{path}: listed {listed[path]} times under '
                                f'SmallData of {metafile(plugin)}')
    assert not problems, '\n'.join(problems)


def _entry_problems(plugin: str, model: dict, collections: set) -> List[str]:
    name = model.get('Name')
    where = f'{metafile(plugin)}: {name}'
    config = model.get('Config', '')
    problems = []
    if not osp.isfile(osp.join(REPO_ROOT, config)):
        problems.append(f'{where}: Config {config!r} does not exist')
    if not config.startswith(f'configs/{plugin}/') or is_small(config):
        problems.append(f'{where}: Config {config!r} is not a full-size '
                        f'config of configs/{plugin}/')
    if name != osp.splitext(osp.basename(config))[0]:
        problems.append(f'{where}: Name is not the config stem')
    if model.get('In Collection') not in collections:
        problems.append(f'{where}: In Collection '
                        f'{model.get("In Collection")!r} is not a Collection')
    meta = model.get('Metadata') or {}
    for key in ('FLOPs', 'Parameters'):
        value = meta.get(key)
        if not isinstance(value, int) or value <= 0:
            problems.append(f'{where}: Metadata.{key}={value!r}, want a '
                            'positive int')
    results = model.get('Results')
    if not isinstance(results, list) or not results:
        problems.append(f'{where}: Results must be a list of '
                        '{Task, Dataset, Metrics}')
        results = []
    for result in results:
        if result.get('Task') not in TASKS or not result.get('Dataset'):
            problems.append(f'{where}: bad Task/Dataset in {result}')
        metrics = result.get('Metrics')
        if not isinstance(metrics, dict):
            problems.append(f'{where}: Metrics must be a dict')
            continue
        for metric, value in metrics.items():
            if metric not in METRIC_NAMES:
                problems.append(f'{where}: metric {metric!r} is not one of '
                                f'{sorted(METRIC_NAMES)}')
            if not isinstance(value, (int, float)) or not 0 < value <= 100:
                problems.append(f'{where}: {metric}={value!r} is not a '
                                'percentage')
    if not any(r.get('Metrics') for r in results) and not model.get('Notes'):
        problems.append(f'{where}: no paper metric and no Notes saying why')
    weights = model.get('Weights')
    if weights is not None and not str(weights).startswith('https://'):
        problems.append(f'{where}: Weights {weights!r} is not a URL')
    return problems


def test_models_entries_are_complete(metafiles):
    problems = []
    names = Counter(m.get('Name') for _, m in models(metafiles))
    problems += [f'Name {n!r} used {c} times' for n, c in names.items()
                 if c > 1]
    for plugin, model in models(metafiles):
        collections = {c.get('Name') for c in
                       metafiles[plugin].get('Collections') or []}
        problems += _entry_problems(plugin, model, collections)
    assert not problems, '\n'.join(problems)


def test_collections_and_small_data_fields(metafiles):
    problems = []
    for plugin, meta in metafiles.items():
        for col in meta.get('Collections') or []:
            paper = col.get('Paper') or {}
            if not col.get('Name') or not paper.get('Title') or \
                    not str(paper.get('URL', '')).startswith('https://'):
                problems.append(f'{metafile(plugin)}: Collection needs Name '
                                f'and Paper.Title/URL: {col}')
            if not osp.isfile(osp.join(REPO_ROOT, col.get('README', ''))):
                problems.append(f'{metafile(plugin)}: README '
                                f'{col.get("README")!r} does not exist')
            if not (col.get('Code') or {}).get('URL'):
                problems.append(f'{metafile(plugin)}: Collection needs '
                                'Code.URL')
        for entry in meta.get('SmallData') or []:
            config = entry.get('Config', '')
            if entry.get('Name') != osp.splitext(osp.basename(config))[0] or \
                    not osp.isfile(osp.join(REPO_ROOT, config)) or \
                    not is_small(config):
                problems.append(f'{metafile(plugin)}: SmallData {entry} needs '
                                'Name = stem of an existing small config')
            metrics = entry.get('Metric')
            metrics = [metrics] if isinstance(metrics, str) else metrics
            if entry.get('Task') not in TASKS or not entry.get('Dataset') or \
                    not metrics or not all(isinstance(m, str) and m
                                           for m in metrics):
                problems.append(f'{metafile(plugin)}: SmallData {entry} '
                                'needs Task, Dataset and Metric (a key or a '
                                'list of keys)')
            start = entry.get('Load From')
            exists = start is not None and \
                osp.isfile(osp.join(REPO_ROOT, start))
            if start is not None and not (exists and is_small(start)):
                problems.append(f'{metafile(plugin)}: SmallData {entry}: '
                                f'Load From {start!r} is not a small config')
    assert not problems, '\n'.join(problems)


def test_model_index_loads_in_openmmlab_model_index(metafiles):
    """``modelindex`` (what ``mim`` reads model zoos with) sees every entry
    with its config, FLOPs and parameters."""
    modelindex = pytest.importorskip('modelindex')
    index = modelindex.load(osp.join(REPO_ROOT, 'model-index.yml'))
    entries = {m['Name']: m for _, m in models(metafiles)}
    loaded = {m.name: m for m in index.models}
    assert sorted(loaded) == sorted(entries)
    for name, model in loaded.items():
        assert model.config == entries[name]['Config']
        assert model.in_collection == entries[name]['In Collection']
        meta = entries[name]['Metadata']
        assert model.metadata.flops == meta.get('FLOPs')
        assert model.metadata.parameters == meta.get('Parameters')
