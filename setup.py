"""visrep: seven visual-representation papers as OpenMMLab plugins.

Install with ``bash tools/setup_env.sh`` (it pins the whole stack, builds
mmcv with its ops and installs this repo in editable mode).
"""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = (re.sub(r'#.*', '', line).strip() for line in f)
        return [line for line in lines if line]


def read_version():
    with open(osp.join(HERE, 'visrep', 'version.py')) as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


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
    python_requires='>=3.8',
    # torch, torchvision and mmcv (built with ops) come from
    # requirements/{torch,mmcv}.txt through tools/setup_env.sh
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
