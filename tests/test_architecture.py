"""The layering of ``visrep``: a core that names no plugin, plugins that
never import a sibling, and a registry that imports only the plugin a
config names.

* the import rule, read from the source with :mod:`ast` (and shown to catch
  planted violations);
* each plugin's main type, built in a fresh interpreter from a toolkit
  scope, imports that plugin and no other;
* each plugin's ``registered.txt`` is what the plugin registers.
"""
import ast
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import textwrap
from typing import Iterator, List, Optional, Tuple

import pytest

from _helpers import REPO_ROOT

#: the package holding one subpackage per plugin, and its folder in a tree
PLUGIN_PACKAGE = 'visrep.projects'
PLUGIN_FOLDER = osp.join('visrep', 'projects')


def plugin_names(root: str) -> List[str]:
    """The plugin folders of the tree at ``root`` (packages under
    ``visrep/projects/``)."""
    folder = osp.join(root, PLUGIN_FOLDER)
    return sorted(name for name in os.listdir(folder)
                  if osp.isfile(osp.join(folder, name, '__init__.py')))


def _python_files(root: str) -> Iterator[str]:
    for directory, subdirs, files in os.walk(osp.join(root, 'visrep')):
        subdirs[:] = sorted(d for d in subdirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith('.py'):
                yield osp.join(directory, name)


def _module_name(root: str, path: str) -> Tuple[str, str]:
    """``(module, package)`` of a file: the package is where its relative
    imports start."""
    parts = osp.relpath(path, root)[:-len('.py')].split(os.sep)
    if parts[-1] == '__init__':
        parts = parts[:-1]
        return '.'.join(parts), '.'.join(parts)
    return '.'.join(parts), '.'.join(parts[:-1])


def _imported(node: ast.AST, package: str) -> List[str]:
    """The modules an import statement may load, relative ones resolved
    (``from a import b`` may load ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ''
    if node.level:
        parts = package.split('.')
        parent = '.'.join(parts[:len(parts) - node.level + 1])
        base = f'{parent}.{base}' if base else parent
    return [base] + [f'{base}.{alias.name}' for alias in node.names]


def _plugin_of(module: str, plugins: List[str]) -> Optional[str]:
    """The plugin a dotted module path belongs to, if any."""
    parts = module.split('.')
    if parts[:2] == PLUGIN_PACKAGE.split('.') and len(parts) > 2 \
            and parts[2] in plugins:
        return parts[2]
    return None


def import_rule_violations(root: str) -> List[str]:
    """Every break of the import rule in the ``visrep/`` of the tree at
    ``root``, as ``'<file>:<line>: <what>'``.

    * a module of plugin ``p`` (``visrep/projects/p/``) imports another
      plugin ``q``, by an absolute or relative import or by a string that is
      a module path of ``q`` (``importlib.import_module``);
    * a module outside the plugin folders imports a plugin, or any of its
      strings (docstrings included) names a plugin's module path.
    """
    plugins = plugin_names(root)
    naming = re.compile(r'\bvisrep\.projects\.(%s)\b' % '|'.join(plugins))
    violations = []
    for path in _python_files(root):
        module, package = _module_name(root, path)
        owner = _plugin_of(module, plugins)
        who = f'plugin {owner}' if owner else 'the core'
        with open(path) as f:
            tree = ast.parse(f.read(), filename=path)
        found = []
        for node in ast.walk(tree):
            for target in _imported(node, package):
                if _plugin_of(target, plugins) not in (None, owner):
                    found.append((node.lineno, f'{who} imports {target}'))
            if not (isinstance(node, ast.Constant)
                    and isinstance(node.value, str)):
                continue
            if owner is None:
                found += [(node.lineno, f'the core names {match.group(0)}')
                          for match in naming.finditer(node.value)]
            elif _plugin_of(node.value, plugins) not in (None, owner) \
                    and re.fullmatch(r'[\w.]+', node.value):
                found.append((node.lineno, f'{who} names {node.value}'))
        where = osp.relpath(path, root)
        violations += [f'{where}:{line}: {what}'
                       for line, what in sorted(found, key=lambda f: f[0])]
    return violations


def test_no_plugin_imports_a_sibling_and_the_core_names_none():
    violations = import_rule_violations(REPO_ROOT)
    assert not violations, (
        'the import rule is broken (a plugin imports visrep.* core only, '
        'the core names no plugin). Fix: move what is shared into '
        'visrep/ (checkpoint, models, engine):\n' + '\n'.join(violations))


def _write(root, relative: str, text: str = '') -> None:
    path = osp.join(str(root), relative)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))


def test_the_checker_reports_each_kind_of_violation(tmp_path):
    _write(tmp_path, 'visrep/__init__.py')
    _write(tmp_path, 'visrep/projects/__init__.py',
           '"""One subpackage per plugin, visrep.projects.<plugin>."""\n')
    _write(tmp_path, 'visrep/core.py', """\
        import visrep.projects.alpha
        from .projects import beta
        PLUGIN = 'visrep.projects.beta.thing'
        import visrep.projects
        from visrep.registry import MODELS
        """)
    _write(tmp_path, 'visrep/projects/alpha/__init__.py', """\
        from ..beta import block
        from visrep.projects.beta.sub import helper
        import importlib; importlib.import_module('visrep.projects.beta')
        from . import own
        from .own import thing
        from visrep.projects.alpha.own import other
        from visrep.core import shared
        DOC = 'unlike visrep.projects.beta, this plugin ...'
        """)
    _write(tmp_path, 'visrep/projects/alpha/own.py', """\
        from ...projects.beta import block
        """)
    _write(tmp_path, 'visrep/projects/beta/__init__.py', """\
        from visrep.projects.beta import sub
        """)
    _write(tmp_path, 'visrep/projects/beta/sub.py')
    found = import_rule_violations(str(tmp_path))
    core = osp.join('visrep', 'core.py')
    alpha = osp.join('visrep', 'projects', 'alpha', '__init__.py')
    own = osp.join('visrep', 'projects', 'alpha', 'own.py')
    beta = 'visrep.projects.beta'
    assert found == [
        f'{core}:1: the core imports visrep.projects.alpha',
        f'{core}:2: the core imports {beta}',
        f'{core}:3: the core names {beta}',
        f'{alpha}:1: plugin alpha imports {beta}',
        f'{alpha}:1: plugin alpha imports {beta}.block',
        f'{alpha}:2: plugin alpha imports {beta}.sub',
        f'{alpha}:2: plugin alpha imports {beta}.sub.helper',
        f'{alpha}:3: plugin alpha names {beta}',
        f'{own}:1: plugin alpha imports {beta}',
        f'{own}:1: plugin alpha imports {beta}.block',
    ]


def test_the_checker_catches_violations_planted_in_this_tree(tmp_path):
    """A copy of ``visrep/`` with a sibling import in one plugin and a
    plugin import in the core: exactly those two are new."""
    shutil.copytree(osp.join(REPO_ROOT, 'visrep'), str(tmp_path / 'visrep'),
                    ignore=lambda folder, names: [
                        n for n in names
                        if not (n.endswith('.py')
                                or osp.isdir(osp.join(folder, n)))
                        or n == '__pycache__'])
    before = set(import_rule_violations(str(tmp_path)))
    plugins = plugin_names(str(tmp_path))
    first, second = plugins[0], plugins[1]
    with open(tmp_path / 'visrep' / 'projects' / first / '__init__.py',
              'a') as f:
        f.write(f'\nfrom ..{second} import anything  # planted\n')
    with open(tmp_path / 'visrep' / 'engine' / '__init__.py', 'a') as f:
        f.write(f'\nimport visrep.projects.{first}  # planted\n')
    new = set(import_rule_violations(str(tmp_path))) - before
    assert {line.split(': ', 1)[1] for line in new} == {
        f'plugin {first} imports visrep.projects.{second}',
        f'plugin {first} imports visrep.projects.{second}.anything',
        f'the core imports visrep.projects.{first}',
    }


#: plugin -> (toolkit scope, expression building its main type, type name);
#: the expressions see the toolkit's ``registry`` module as ``toolkit``
#: and mmcv's ``build_norm_layer`` / ``build_plugin_layer``
MAIN_TYPES = {
    'cbn': ('mmdet', "build_norm_layer(dict(type='visrep.CBN', "
            "buffer_num=3), 8)[1]", 'CBN'),
    'dnl': ('mmdet', "build_plugin_layer(dict(type='visrep.DNLBlock', "
            "reduction=4), in_channels=32, postfix='_1')[1]", 'DNLBlock'),
    'swin_v2': ('mmdet', "toolkit.MODELS.build(dict("
                "type='visrep.SwinTransformerV2', img_size=32, "
                "window_size=4, arch=dict(embed_dims=8, depths=(1, 1, 1, 1),"
                " num_heads=(1, 1, 1, 1))))", 'SwinTransformerV2'),
    'balanced_sparsity': ('mmdet', "toolkit.HOOKS.build(dict("
                          "type='visrep.BalancedSparsityHook', n_m=(2, 4)))",
                          'BalancedSparsityHook'),
    'simmim': ('mmpretrain', "toolkit.MODELS.build(dict("
               "type='visrep.SimMIM', backbone=dict("
               "type='visrep.MaskedSwinTransformerV1', arch=dict("
               "embed_dims=16, depths=[2, 2, 2, 2], num_heads=[1, 1, 2, 2]),"
               " img_size=64, window_size=2), neck=dict("
               "type='SimMIMLinearDecoder', in_channels=128, "
               "encoder_stride=32), head=dict(type='visrep.SimMIMHead', "
               "patch_size=4), data_preprocessor=dict("
               "type='SelfSupDataPreprocessor', mean=[0., 0., 0.], "
               "std=[1., 1., 1.])))", 'SimMIM'),
    'moby': ('mmpretrain', "toolkit.MODELS.build(dict(type='visrep.MoBY', "
             "backbone=dict(type='visrep.SwinTransformerV1', arch=dict("
             "embed_dims=16, depths=[2, 2], num_heads=[1, 2]), img_size=32,"
             " window_size=4, out_indices=(1, )), neck=dict("
             "type='visrep.MoBYMLP', in_channels=32, hid_channels=64, "
             "out_channels=8), head=dict(type='visrep.MoBYHead', "
             "temperature=0.2, predictor=dict(type='visrep.MoBYMLP', "
             "in_channels=8, hid_channels=64, out_channels=8)), "
             "queue_len=16, feat_dim=8, momentum_total_iters=10, "
             "data_preprocessor=dict(type='SelfSupDataPreprocessor', "
             "mean=[0., 0., 0.], std=[1., 1., 1.])))", 'MoBY'),
    'icar': ('mmpretrain', "toolkit.MODELS.build(dict(type='visrep.ICAR', "
             "backbone=dict(type='ResNet', depth=18), text_encoder=dict("
             "type='visrep.ICARTextTransformer', embed_dim=16, width=32, "
             "layers=1, heads=2, context_length=16), image_channels=512, "
             "embed_dim=16, class_text=dict(classes=['tench', 'goldfish'], "
             "templates=['a photo of a {}.'], description_mode='name')))",
             'ICAR'),
}

BUILD = '''\
import json, sys
from mmcv.cnn import build_norm_layer, build_plugin_layer
from mmengine.registry import init_default_scope
import {scope}.registry as toolkit
import {scope}.models  # what a config of this toolkit imports anyway
init_default_scope({scope!r})
TOOLKITS = ('mmdet', 'mmseg', 'mmpretrain', 'mmaction')
before = [name for name in TOOLKITS if name in sys.modules]
built = {build}
plugins = {{name.split('.')[2] for name in sys.modules
            if name.startswith('visrep.projects.')}}
toolkits = [name for name in TOOLKITS
            if name in sys.modules and name not in before]
print(json.dumps(dict(type=type(built).__name__, module=type(built).__module__,
                      plugins=sorted(plugins), toolkits=toolkits)))
'''


#: plugins whose main type needs no other toolkit: built from an mmdet
#: config they import no toolkit that mmdet itself did not
OWN_TOOLKIT_ONLY = ('cbn', 'balanced_sparsity')


def test_every_plugin_has_a_main_type_here():
    assert sorted(MAIN_TYPES) == plugin_names(REPO_ROOT)


@pytest.mark.parametrize('plugin', sorted(MAIN_TYPES))
def test_building_a_plugin_type_imports_that_plugin_alone(plugin):
    scope, build, name = MAIN_TYPES[plugin]
    code = BUILD.format(scope=scope, build=build)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    built = json.loads(proc.stdout.strip().splitlines()[-1])
    assert built['type'] == name
    assert built['module'].startswith(f'{PLUGIN_PACKAGE}.{plugin}')
    assert built['plugins'] == [plugin], (
        f'building visrep.{name} from a {scope} config imported the plugins '
        f'{built["plugins"]}, not {plugin} alone')
    if plugin in OWN_TOOLKIT_ONLY:
        assert built['toolkits'] == [], (
            f'building visrep.{name} from a {scope} config imported the '
            f'toolkits {built["toolkits"]}')


def test_every_registered_txt_is_current():
    from visrep.registry_index import INDEX_FILE, indexed_packages, read_index
    code = ('import json; from visrep.registry_index import '
            'registered_by_package; print(json.dumps(registered_by_package()))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    registered = json.loads(proc.stdout.strip().splitlines()[-1])
    folders = indexed_packages()
    assert sorted(registered) == sorted(folders)
    assert 'visrep.models' in registered
    assert sum(map(len, registered.values())) > 0
    for package, entries in sorted(registered.items()):
        path = osp.join(folders[package], INDEX_FILE)
        assert osp.isfile(path), \
            f'{path} is missing. Fix: run python -m visrep.registry_index'
        assert read_index(path) == [tuple(entry) for entry in entries], (
            f'{path} differs from what {package} registers. Fix: run '
            'python -m visrep.registry_index')


def test_a_stale_index_line_is_an_error_naming_the_fix(tmp_path):
    from visrep.registry_index import read_index
    path = tmp_path / 'registered.txt'
    path.write_text('# comment\nMODELS Foo\n')
    with pytest.raises(ValueError, match='registered.txt:2.*python -m '
                       'visrep.registry_index'):
        read_index(str(path))
