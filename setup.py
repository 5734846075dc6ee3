"""visrep: seven visual-representation papers as OpenMMLab plugins.

Install with ``bash tools/setup_env.sh`` (it pins the whole stack, builds
mmcv with its ops and installs this repo in editable mode), or into an
existing environment with ``pip install visrep[det,seg,...]``: the core
requires ranges (requirements/runtime.txt), each toolkit and plugin need is
an extra (requirements/<extra>.txt), see :data:`EXTRAS`.  The package
carries configs/, tools/ and model-index.yml as visrep/.mim/ (``visrep::``
config names, ``mim train visrep ...``): see :class:`BuildPyWithMim`.
"""
import os
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
#: repo files shipped as visrep/.mim/<name>, the OpenMMLab package-data
#: convention (``visrep::`` config names, ``mim train visrep ...``)
MIM_FILES = ('configs', 'tools', 'model-index.yml')
MIM_IGNORE = shutil.ignore_patterns('__pycache__', '*.pyc', '*.pyo')


def read_requirements(name):
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = (re.sub(r'#.*', '', line).strip() for line in f)
        return [line for line in lines if line]


#: extra -> requirements/<extra>.txt; ``all`` is every toolkit/plugin extra
#: (the visualisation backends tb and wandb stay separate).  The importable
#: modules behind each extra are listed in visrep/extras.py.
EXTRAS = ('det', 'seg', 'cls', 'video', 'icar', 'simmim', 'tb', 'wandb',
          'tests')
ALL_EXTRAS = ('det', 'seg', 'cls', 'video', 'icar', 'simmim')


def extras_require():
    extras = {name: read_requirements(f'{name}.txt') for name in EXTRAS}
    extras['all'] = sorted({req for name in ALL_EXTRAS
                            for req in extras[name]})
    return extras


def read_version():
    with open(osp.join(HERE, 'visrep', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def _remove(path: str) -> None:
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def copy_mim_files(target: str) -> None:
    """Copy configs/, tools/ and model-index.yml into ``target`` (a wheel's
    or sdist build's visrep/.mim/), replacing what a previous build left."""
    _remove(target)
    os.makedirs(target)
    for name in MIM_FILES:
        source = osp.join(HERE, name)
        if osp.isdir(source):
            shutil.copytree(source, osp.join(target, name), ignore=MIM_IGNORE)
        elif osp.isfile(source):
            shutil.copyfile(source, osp.join(target, name))


def link_mim_files(target: str) -> None:
    """Symlink configs/, tools/ and model-index.yml into ``target`` (the
    source tree's visrep/.mim/, which an editable install serves), so edits
    to the repo's files show through."""
    os.makedirs(target, exist_ok=True)
    for name in MIM_FILES:
        source, link = osp.join(HERE, name), osp.join(target, name)
        relative = osp.relpath(source, target)
        if osp.islink(link) and os.readlink(link) == relative:
            continue
        _remove(link)
        if osp.exists(source):
            os.symlink(relative, link)


class BuildPyWithMim(build_py):
    """build_py that also ships the repo's configs, tools and model-index.

    A wheel gets copies in its visrep/.mim/; an editable install (pip's
    PEP 660 build runs build_py with ``editable_mode``) gets symlinks in the
    source tree's visrep/.mim/ (git-ignored), as mm* packages do.
    """

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            link_mim_files(osp.join(HERE, 'visrep', '.mim'))
        else:
            copy_mim_files(osp.join(self.build_lib, 'visrep', '.mim'))


setup(
    name='visrep',
    version=read_version(),
    description='Swin V2, SimMIM, MoBY, iCAR, CBN, DNL and balanced sparsity '
    'as plugins for mmdet, mmseg, mmpretrain and mmaction2',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['visrep', 'visrep.*']),
    # which module registers which name (read by visrep.registry_index)
    package_data={'visrep.models': ['registered.txt'],
                  'visrep.projects': ['*/registered.txt']},
    # the tested NumPy 2.4, SciPy 1.17, matplotlib 3.11 and Pillow 13 need
    # Python 3.11 (torch 2.13 needs 3.10)
    python_requires='>=3.11',
    install_requires=read_requirements('runtime.txt'),
    extras_require=extras_require(),
    license='Apache-2.0',
    license_files=['LICENSE'],
    cmdclass={'build_py': BuildPyWithMim},
)
