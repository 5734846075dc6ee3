"""Optional dependencies: which ``pip install visrep[<extra>]`` brings what.

``pip install visrep`` installs the core (torch, mmengine, mmcv); each
toolkit and plugin need is an extra (requirements/<extra>.txt, read by
setup.py).  A plugin imports only the modules of the extras it needs, and a
missing one is reported as an :class:`ImportError` naming the extra to
install, not as a bare ``No module named 'mmaction'``:

* :func:`requires_extra` -- around a module's toolkit imports;
* :func:`import_available` -- in a plugin's ``__init__``: imports the
  submodules whose extras are installed; the names of the others, and an
  import of those submodules (the registry's lookup of a name imports its
  module), raise errors naming their extra.
"""
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Callable, Dict, Iterator, List, Mapping, MutableMapping, \
    Optional, Sequence, Tuple

#: extra -> the top-level modules (of requirements/<extra>.txt) that the
#: plugin parts needing the extra import; without one of them those parts
#: are left out.  Modules used only by a function (timm's class names,
#: decord's video decoding) are not listed: their absence disables nothing.
EXTRA_MODULES: Dict[str, Tuple[str, ...]] = {
    'det': ('mmdet',),
    'seg': ('mmseg', 'ftfy', 'regex'),
    'cls': ('mmpretrain',),
    'video': ('mmaction',),
    'icar': ('mmpretrain', 'open_clip', 'ftfy', 'regex'),
    'simmim': ('mmpretrain', 'scipy'),
    'tb': ('tensorboard',),
    'wandb': ('wandb',),
}


class MissingExtraError(ImportError):
    """A module of an optional extra is not installed."""


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra``."""
    if extra not in EXTRA_MODULES:
        raise ValueError(f'unknown extra {extra!r}; visrep has '
                         f'{sorted(EXTRA_MODULES)}.')
    return f"pip install 'visrep[{extra}]'"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent missing, or __spec__ None
        return False


def missing_modules(extra: str) -> List[str]:
    """The top-level modules of ``extra`` that are not installed."""
    install_hint(extra)  # validates the name
    return [m for m in EXTRA_MODULES[extra] if not _installed(m)]


def _error(extra: str, feature: str,
           missing: Sequence[str]) -> MissingExtraError:
    return MissingExtraError(
        f'{feature} needs {", ".join(missing)} (the visrep[{extra}] extra), '
        f'which is not installed: {install_hint(extra)}')


@contextlib.contextmanager
def requires_extra(extra: str, feature: str) -> Iterator[None]:
    """Re-raise a missing module of ``extra`` as an error naming the extra.

    ``feature`` says what needs it (e.g. ``'visrep.DNLOfficialHead'``).  A
    missing module outside ``extra`` (a genuine bug) is re-raised as is.
    """
    install_hint(extra)
    try:
        yield
    except ModuleNotFoundError as error:
        top = (error.name or '').split('.')[0]
        if top not in EXTRA_MODULES[extra]:
            raise
        raise _error(extra, feature, [top]) from error


class _MissingExtraLoader(importlib.abc.Loader):
    """Fails the import of a plugin submodule whose extra is missing."""

    def __init__(self, error: MissingExtraError):
        self.error = error

    def create_module(self, spec) -> Optional[ModuleType]:
        return None

    def exec_module(self, module: ModuleType) -> None:
        raise self.error


class _MissingExtraFinder(importlib.abc.MetaPathFinder):
    """``sys.meta_path`` entry answering the left-out submodules."""

    def __init__(self) -> None:
        self.errors: Dict[str, MissingExtraError] = {}

    def find_spec(self, fullname, path=None, target=None):
        error = self.errors.get(fullname)
        if error is None:
            return None
        return importlib.machinery.ModuleSpec(fullname,
                                              _MissingExtraLoader(error))


_FINDER = _MissingExtraFinder()


def _refuse_import(module: str, error: MissingExtraError) -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _FINDER.errors[module] = error


def import_available(
        namespace: MutableMapping[str, object], package: str,
        parts: Mapping[str, Tuple[str, Sequence[str]]]
) -> Callable[[str], object]:
    """Import a plugin's optional submodules whose extras are installed.

    ``parts`` maps a submodule (``'.head'``) to ``(extra, names)``: when the
    extra's modules are installed the submodule is imported and ``names``
    are put in ``namespace`` (the package's ``globals()``); otherwise they
    are left out.  Returns the package's module ``__getattr__`` (PEP 562),
    which answers a left-out name with :class:`MissingExtraError`; an
    import of a left-out submodule raises it too.
    """
    left_out: Dict[str, Tuple[str, List[str]]] = {}
    for submodule, (extra, names) in parts.items():
        missing = missing_modules(extra)
        if missing:
            left_out.update({name: (extra, missing) for name in names})
            fullname = importlib.util.resolve_name(submodule, package)
            _refuse_import(fullname, _error(extra, fullname, missing))
            continue
        module = importlib.import_module(submodule, package)
        for name in names:
            namespace[name] = getattr(module, name)

    def __getattr__(name: str) -> object:
        if name in left_out:
            extra, missing = left_out[name]
            raise _error(extra, f'{package}.{name}', missing)
        raise AttributeError(f'module {package!r} has no attribute {name!r}')

    return __getattr__
