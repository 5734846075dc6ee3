"""``visrep::<path>`` config names, as ``mmdet::<path>`` works for mmdet.

mmengine 0.10.7 resolves ``package::path`` (a ``_base_`` entry,
:func:`mmengine.hub.get_config`) only for the OpenMMLab packages in its fixed
table ``mmengine.config.utils.MODULE2PACKAGE``; any other name fails with
"mmengine does not support to load visrep config".  Adding ``visrep`` to the
table would not be enough: mmengine then finds the package at
``pkg_resources`` location + name, which for an editable (PEP 660) install is
a ``site-packages/visrep`` that does not exist, and it gives every dict of
such a base ``_scope_='visrep'``, so toolkit types (``ImageClassifier``,
``LoadImageFromFile``, ...) would be looked up in the ``visrep`` registries
and not be found.

The patch: ``Config._get_cfg_path`` (``_base_`` entries), ``Config.fromfile``
and :func:`mmengine.hub.get_config` handle names starting with ``visrep::``
themselves and pass every other name to mmengine unchanged.  The path is
looked up in the imported package's ``.mim/configs/`` (setup.py ships the
repo's ``configs/`` there: copies in a wheel, symlinks in an editable
install), then, in a source checkout not reinstalled since, in the
``configs/`` beside the package.  Such a base is inherited like a local file,
without ``_scope_``: our configs carry their toolkit's ``default_scope`` and
name our modules ``visrep.X``.

Second, for every ``package::`` base (``mmpretrain::_base_/...`` in most of
our configs) mmengine reads all of that package's metafiles again (yaml,
85 files for mmpretrain, about 0.7 s each time) to look the name up among
its models.  Those reads are memoized per file and modification time
(``mmengine.config.utils.load``, used only for this): a config with three
``mmpretrain::`` bases loaded in 2.7 s, now in 1.2 s.
"""
import difflib
import functools
import glob
import os.path as osp
from typing import Any, Callable, List, Optional, Tuple

PREFIX = 'visrep::'
#: the ``visrep`` package directory (this file is ``visrep/compat/...``)
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def is_package_config(name: Any) -> bool:
    """Whether ``name`` is a ``visrep::<path>`` config name."""
    return isinstance(name, str) and name.startswith(PREFIX)


def data_roots() -> List[str]:
    """Where the shipped configs, tools and model-index are looked up, in
    order: the package's ``.mim/``, then a source checkout's root."""
    roots = [osp.join(PACKAGE_DIR, '.mim')]
    checkout = osp.dirname(PACKAGE_DIR)
    if osp.isfile(osp.join(checkout, 'setup.py')):
        roots.append(checkout)
    return roots


def config_dirs() -> List[str]:
    """The ``configs/`` directories a ``visrep::`` name is looked up in."""
    return [osp.join(root, 'configs') for root in data_roots()]


def _close_matches(relative: str, dirs: List[str]) -> List[str]:
    known = set()
    for directory in dirs:
        for path in glob.glob(osp.join(directory, '**', '*.py'),
                              recursive=True):
            known.add(osp.relpath(path, directory))
    return difflib.get_close_matches(relative, sorted(known), n=3)


def resolve_config(name: str) -> str:
    """The file a ``visrep::<path>`` config name stands for.

    Raises:
        FileNotFoundError: no such config; the message names the path, the
            directories searched and the closest shipped names.
    """
    relative = name[len(PREFIX):]
    if (not relative or osp.isabs(relative) or '::' in relative
            or osp.normpath(relative).startswith('..')):
        raise ValueError(
            f'config name {name!r}: write visrep::<path relative to '
            "visrep's configs/>, e.g. "
            "'visrep::swin_v2/swinv2-tiny-w8_16xb64_in1k-256px.py'.")
    dirs = config_dirs()
    for directory in dirs:
        path = osp.join(directory, relative)
        if osp.isfile(path):
            return path
    hint = ''
    matches = _close_matches(relative, dirs)
    if matches:
        hint = ' Close names: ' + ', '.join(PREFIX + m for m in matches) + '.'
    raise FileNotFoundError(
        f'config {name!r} not found: no {relative!r} under '
        + ' or '.join(repr(d) for d in dirs)
        + '. A visrep:: path is relative to the configs/ directory that '
        'visrep ships (a wheel install holds it in visrep/.mim/configs; '
        f'reinstall visrep if that directory is missing).{hint}')


def _read_yaml(path: str) -> dict:
    """A metafile, parsed with ``yaml.safe_load`` (mmengine's ``load``
    uses yaml's full ``Loader``, which can construct Python objects)."""
    import yaml
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f) or {}


def weights_url(name: str) -> str:
    """The official weights URL of a ``visrep::`` config in the metafiles
    imported by ``model-index.yml``."""
    config = 'configs/' + name[len(PREFIX):]
    for root in data_roots():
        index = osp.join(root, 'model-index.yml')
        if not osp.isfile(index):
            continue
        for metafile in _read_yaml(index).get('Import', []):
            for model in _read_yaml(osp.join(root, metafile)).get(
                    'Models', []):
                if model.get('Config') == config and model.get('Weights'):
                    return model['Weights']
        raise ValueError(
            f'{name!r} has no Weights entry in the metafiles imported by '
            f'{index}: no official release exists for this config.')
    raise FileNotFoundError(
        f'no model-index.yml under {data_roots()}; reinstall visrep.')


@functools.lru_cache(maxsize=None)
def _load_metafile(path: str, mtime: float, load: Callable) -> Any:
    return load(path)


def _memoized_load(load: Callable) -> Callable:
    """mmengine's ``load`` for the metafile lookups, memoized per path and
    modification time (the files are only read there)."""

    @functools.wraps(load)
    def memoized(file, *args, **kwargs):
        if args or kwargs or not isinstance(file, str) or not osp.isfile(file):
            return load(file, *args, **kwargs)
        path = osp.abspath(file)
        return _load_metafile(path, osp.getmtime(path), load)

    return memoized


def _mark(function):
    function.__visrep_patched__ = True
    return function


def install() -> None:
    from mmengine import hub
    from mmengine.config import Config
    from mmengine.config import utils as config_utils
    from mmengine.hub import hub as hub_module

    original_get_cfg_path = Config._get_cfg_path
    if getattr(original_get_cfg_path, '__visrep_patched__', False):
        return
    original_fromfile = Config.fromfile
    original_get_config = hub_module.get_config

    @_mark
    @functools.wraps(original_get_cfg_path)
    def _get_cfg_path(cfg_path: str,
                      filename: str) -> Tuple[str, Optional[str]]:
        if is_package_config(cfg_path):
            return resolve_config(cfg_path), None
        return original_get_cfg_path(cfg_path, filename)

    @_mark
    @functools.wraps(original_fromfile)
    def fromfile(filename, *args, **kwargs):
        if is_package_config(str(filename)):
            filename = resolve_config(str(filename))
        return original_fromfile(filename, *args, **kwargs)

    @_mark
    @functools.wraps(original_get_config)
    def get_config(cfg_path: str, pretrained: bool = False):
        if not is_package_config(cfg_path):
            return original_get_config(cfg_path, pretrained)
        cfg = Config.fromfile(resolve_config(cfg_path))
        if pretrained:
            cfg.model_path = weights_url(cfg_path)
        return cfg

    Config._get_cfg_path = staticmethod(_get_cfg_path)
    Config.fromfile = staticmethod(fromfile)
    hub_module.get_config = get_config
    hub.get_config = get_config
    config_utils.load = _mark(_memoized_load(config_utils.load))
