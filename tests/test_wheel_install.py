"""The package as users install it: a wheel built from the repo (through an
sdist, as from PyPI) and installed without ``-e`` into a throwaway
environment (issue 21).

It ships configs/, tools/ and model-index.yml as ``visrep/.mim/`` (the
OpenMMLab convention), ``visrep::`` names resolve there, and it installs no
top-level ``projects`` package: a checkout's namespace folder
``projects/<name>/`` (mmdet, mmseg, ... import theirs through
``custom_imports``) still imports.

The throwaway environment sees the project venv's packages through a
``.pth`` line naming its site-packages (``--system-site-packages`` of a venv
made from a venv reaches the base interpreter's site-packages, not the
project venv's); ``.pth`` files in a directory so added are not run, so the
project venv's editable install of visrep stays out of it.

Issue 24: the wheel states ranges (lower bound = the tested version), the
extras and the Python the tested set needs; pip resolves the wheel plus an
extra against the installed set with no index; plugins import without the
extras they do not need and name the extra to install for the rest.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest
from _helpers.runs import REPO_ROOT

pytestmark = pytest.mark.skipif(
    not osp.isdir(osp.join(REPO_ROOT, '.git')),
    reason='copies the files of a git checkout')

CONFIG = 'swin_v2/swinv2-tiny-w8_16xb64_in1k-256px.py'


def _run(command, cwd, env=None) -> str:
    proc = subprocess.run(command, cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.returncode == 0, (
        f'{" ".join(map(str, command))} exited with {proc.returncode}:\n'
        + proc.stdout[-4000:])
    return proc.stdout


def _pip(*args) -> list:
    return [sys.executable, '-m', 'pip', '--isolated',
            '--disable-pip-version-check', *args]


def _checkout_copy(dest: str) -> None:
    """The files a clone of the working tree has (tracked and untracked,
    git-ignored ones left out), so the build does not write into the repo."""
    listed = _run(['git', 'ls-files', '-z', '--cached', '--others',
                   '--exclude-standard'], cwd=REPO_ROOT)
    for name in filter(None, listed.split('\0')):
        source = osp.join(REPO_ROOT, name)
        if not osp.isfile(source):  # deleted in the working tree
            continue
        target = osp.join(dest, name)
        os.makedirs(osp.dirname(target), exist_ok=True)
        with open(source, 'rb') as src, open(target, 'wb') as dst:
            dst.write(src.read())


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    """repo copy -> sdist -> wheel; the path of the wheel."""
    base = tmp_path_factory.mktemp('wheel_build')
    source, dist = str(base / 'source'), str(base / 'dist')
    _checkout_copy(source)
    _run([sys.executable, 'setup.py', '-q', 'sdist', '--dist-dir', dist],
         cwd=source)
    (sdist,) = [f for f in os.listdir(dist) if f.endswith('.tar.gz')]
    _run(_pip('wheel', '--no-deps', '--no-build-isolation', '--use-pep517',
              '--wheel-dir', dist, osp.join(dist, sdist)), cwd=str(base))
    (name,) = [f for f in os.listdir(dist) if f.endswith('.whl')]
    return osp.join(dist, name)


@pytest.fixture(scope='module')
def venv_python(wheel, tmp_path_factory) -> str:
    """A throwaway venv with the wheel installed (no -e), layered over the
    project venv's packages."""
    venv = str(tmp_path_factory.mktemp('wheel_venv') / 'venv')
    _run([sys.executable, '-m', 'venv', '--without-pip', venv], cwd='/')
    python = osp.join(venv, 'bin', 'python')
    # installed before the project venv is visible: pip sees no visrep yet
    _run(_pip('--python', python, 'install', '--no-deps', '--no-index',
              wheel), cwd='/')
    purelib = _run([python, '-c', 'import sysconfig; '
                    'print(sysconfig.get_paths()["purelib"])'], cwd='/')
    with open(osp.join(purelib.strip(), 'project_venv.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    return python


def test_wheel_ships_mim_files_and_no_projects(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(n.split('/')[0] for n in names
                         if n.endswith('.dist-info/RECORD'))
        top_level = archive.read(f'{dist_info}/top_level.txt').decode()
        record = archive.read(f'{dist_info}/RECORD').decode()
    assert top_level.split() == ['visrep']
    assert {n.split('/')[0] for n in names} == {'visrep', dist_info}
    assert not [line for line in record.splitlines()
                if line.startswith('projects')]
    # every config and tool of the checkout, nothing compiled
    listed = _run(['git', 'ls-files', '--cached', '--others',
                   '--exclude-standard', 'configs', 'tools',
                   'model-index.yml'], cwd=REPO_ROOT).split()
    shipped = [f'visrep/.mim/{name}' for name in listed
               if osp.isfile(osp.join(REPO_ROOT, name))]
    assert 'visrep/.mim/tools/train.py' in shipped
    assert 'visrep/.mim/model-index.yml' in shipped
    assert sorted(n for n in names if n.startswith('visrep/.mim/')) == \
        sorted(shipped)


CHECKS = textwrap.dedent("""\
    import json, os, runpy, sys
    import visrep
    from mmengine.config import Config
    import projects.example_project.dummy as dummy
    from visrep.compat.mmengine_package_configs import resolve_config

    out = dict(visrep=visrep.__file__, dummy=dummy.__file__,
               projects_path=list(sys.modules['projects'].__path__),
               resolved=resolve_config('visrep::{config}'))
    cfg = Config.fromfile('my_config.py')
    out['text'] = cfg.text
    out['batch_size'] = cfg.train_dataloader.batch_size
    train = os.path.join(os.path.dirname(visrep.__file__), '.mim', 'tools',
                         'train.py')
    sys.argv = [train, '--help']
    try:
        runpy.run_path(train, run_name='__main__')
    except SystemExit as exit:
        out['train_help_exit'] = exit.code
    print('CHECKS ' + json.dumps(out))
""").format(config=CONFIG)


def test_installed_wheel(venv_python, tmp_path):
    venv = osp.dirname(osp.dirname(venv_python))
    venv_lib = osp.join(venv, 'lib')
    project = tmp_path / 'user_checkout'
    (project / 'projects' / 'example_project').mkdir(parents=True)
    (project / 'projects' / 'example_project' / 'dummy.py').write_text(
        'VALUE = 1\n')
    (project / 'my_config.py').write_text(
        f"_base_ = 'visrep::{CONFIG}'\n"
        'train_dataloader = dict(batch_size=3)\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    output = _run([venv_python, '-c', CHECKS], cwd=str(project), env=env)
    out = json.loads(output.split('CHECKS ', 1)[1])

    # (a) visrep is the installed copy, not the repo's editable one
    assert out['visrep'].startswith(venv_lib), out['visrep']
    # (b, c) `projects` is the checkout's namespace folder, and only that
    assert out['projects_path'] == [str(project / 'projects')]
    assert out['dummy'] == str(project / 'projects' / 'example_project'
                               / 'dummy.py')
    # (d) visrep:: names resolve to the installed visrep/.mim/configs
    mim_configs = osp.join(osp.dirname(out['visrep']), '.mim', 'configs')
    assert out['resolved'] == osp.join(mim_configs, CONFIG)
    assert osp.join(mim_configs, CONFIG) in out['text']
    assert osp.join(REPO_ROOT, 'configs') not in out['text']
    assert out['batch_size'] == 3
    # (e) the shipped tools run
    assert out['train_help_exit'] == 0
    assert 'usage: train.py' in output


# ---------------------------------------------------------------- issue 24:
# ranges, extras and import guards for installing into a user's environment

def _constraints() -> dict:
    """``{normalised name: version}`` of requirements/constraints.txt."""
    from packaging.utils import canonicalize_name
    pins = {}
    with open(osp.join(REPO_ROOT, 'requirements', 'constraints.txt')) as f:
        for line in f:
            name, sep, version = line.split('#')[0].strip().partition('==')
            if sep:
                pins[canonicalize_name(name)] = version
    return pins


def _wheel_metadata(wheel):
    from email.parser import Parser
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist()
                    if n.endswith('.dist-info/METADATA'))
        return Parser().parsestr(archive.read(name).decode())


def test_wheel_states_ranges_extras_and_python(wheel):
    from importlib.metadata import distribution
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name

    from visrep.extras import EXTRA_MODULES
    meta = _wheel_metadata(wheel)
    pins = _constraints()
    requires = [Requirement(r) for r in meta.get_all('Requires-Dist')]
    base = [r for r in requires if r.marker is None]
    assert {canonicalize_name(r.name) for r in base} >= {
        'torch', 'mmengine', 'mmcv'}
    by_extra = {}
    for req in requires:
        if req.marker is not None:
            extra = str(req.marker).split('"')[1]
            by_extra.setdefault(extra, set()).add(canonicalize_name(req.name))
    assert set(meta.get_all('Provides-Extra')) == set(by_extra) == \
        set(EXTRA_MODULES) | {'all', 'tests'}
    for extra, toolkit in [('det', 'mmdet'), ('seg', 'mmsegmentation'),
                           ('cls', 'mmpretrain'), ('video', 'mmaction2'),
                           ('icar', 'open-clip-torch'), ('simmim', 'scipy')]:
        assert toolkit in by_extra[extra] and toolkit in by_extra['all']
        assert toolkit not in {canonicalize_name(r.name) for r in base}
    # ranges: every lower bound is the tested version, no exact pins outside
    # the tests extra, an upper bound only for mmcv (mmdet 3.3, mmseg 1.2.2
    # and mmaction2 1.2 refuse mmcv 2.2)
    for req in requires:
        name = canonicalize_name(req.name)
        if req.marker is not None and 'tests' in str(req.marker):
            continue
        ops = {spec.operator: spec.version for spec in req.specifier}
        assert '==' not in ops, req
        if '>=' in ops:
            assert ops['>='] == pins[name], (req, pins[name])
        if name in pins and name not in ('tensorboard', 'wandb'):
            assert req.specifier.contains(pins[name], prereleases=True), req
        assert set(ops) <= ({'>=', '<'} if name == 'mmcv' else {'>='}), req
    assert str(next(r for r in base if r.name == 'mmcv').specifier) in (
        '<2.2.0,>=2.1.0', '>=2.1.0,<2.2.0')
    # each extra's importable modules come from that extra's distributions
    from importlib.metadata import packages_distributions
    providers = packages_distributions()
    for extra, modules in EXTRA_MODULES.items():
        for module in modules:
            if module in providers:  # tb/wandb are not installed here
                assert {canonicalize_name(d) for d in providers[module]} & \
                    by_extra[extra], (extra, module)
    # python_requires: the highest Requires-Python of the tested set
    floors = []
    for name in pins:
        try:
            spec = distribution(name).metadata.get('Requires-Python')
        except Exception:  # not installed here (another platform's pin)
            continue
        floors += [tuple(map(int, s.version.split('.')[:2]))
                   for s in SpecifierSet(spec or '') if s.operator == '>=']
    assert meta['Requires-Python'] == '>=%d.%d' % max(floors)


def _dry_run(python, requirement, report):
    return subprocess.run(
        _pip('--python', python, 'install', '--dry-run', '--no-index',
             '--report', report, requirement),
        cwd='/', text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_wheel_plus_extra_resolves_against_the_installed_set(
        venv_python, wheel, tmp_path):
    """pip resolves ``visrep[video]`` from the wheel against what is
    installed (the project venv's tested set), with no index to fall back
    on; an extra whose package is absent fails, naming it."""
    report = str(tmp_path / 'report.json')
    proc = _dry_run(venv_python, f'{wheel}[video]', report)
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(report) as f:
        planned = [item['metadata']['name']
                   for item in json.load(f)['install']]
    assert planned in ([], ['visrep']), planned
    for name in ('mmaction2', 'decord', 'mmcv', 'torch', 'mmengine'):
        assert f'Requirement already satisfied: {name}' in proc.stdout, name
    proc = _dry_run(venv_python, f'{wheel}[wandb]', report)
    assert proc.returncode != 0
    assert 'No matching distribution found for wandb' in proc.stdout


GUARDS = textwrap.dedent("""\
    import sys
    for name in ('mmaction', 'mmseg', 'scipy', 'open_clip'):
        sys.modules[name] = None  # as if not installed
    import visrep.projects.dnl as dnl
    import visrep.projects.icar as icar
    import visrep.projects.simmim as simmim
    from visrep.registry import MODELS
    assert dnl.DNLBlock and icar.TextTransformer and simmim.SimMIMHead
    def error(get):
        try:
            get()
        except ImportError as exc:
            return str(exc)
        return 'no error'
    print('ERR', error(lambda: dnl.ResNet3dDNL))
    print('ERR', error(lambda: MODELS.get('DNLOfficialHead')))
    print('ERR', error(lambda: icar.BPETokenizer()))
    print('ERR', error(lambda: simmim.SimMIMViT))
    from visrep.models.relpos import resize_table
    import torch
    print('ERR', error(lambda: resize_table(torch.zeros(25, 1), 5, 7)))
    print('LOADED', sorted(m for m in ('mmaction', 'mmseg', 'scipy',
                                       'open_clip')
                           if sys.modules.get(m) is not None))
""")


def test_plugins_import_only_what_they_need():
    """With mmaction2, mmseg, SciPy and open_clip missing, the plugins
    still import, and what needs them names the extra to install."""
    proc = subprocess.run([sys.executable, '-c', GUARDS], cwd=REPO_ROOT,
                          text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    assert proc.returncode == 0, proc.stdout[-3000:]
    errors = [line[4:] for line in proc.stdout.splitlines()
              if line.startswith('ERR ')]
    expected = ['video', 'seg', 'icar', 'simmim', 'simmim']
    assert len(errors) == len(expected), proc.stdout
    for message, extra in zip(errors, expected):
        assert f"pip install 'visrep[{extra}]'" in message, message
    assert 'visrep.projects.dnl.ResNet3dDNL needs mmaction' in errors[0]
    assert 'LOADED []' in proc.stdout
