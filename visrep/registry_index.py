"""Which module registers which ``visrep.<Name>``: the ``registered.txt`` files.

Each plugin package under ``visrep/projects/`` and the shared
``visrep.models`` keeps a ``registered.txt`` with one
``<REGISTRY> <Name> <module>`` line per name it registers in the ``visrep``
scope.  :class:`visrep.registry.PluginRegistry` reads them to import only the
module a config asks for.  ``python -m visrep.registry_index`` rewrites them
from what importing the packages registers (a test checks they are current).
"""
import functools
import importlib
import importlib.util
import os.path as osp
import pkgutil
from typing import Dict, List, Tuple

#: the package holding one subpackage per plugin
PLUGIN_PACKAGE = 'visrep.projects'
#: packages whose modules register on demand: the shared models (which
#: import toolkit code) and, added by :func:`indexed_packages`, each plugin
LAZY_CORE_PACKAGES = ('visrep.models', )
#: in each indexed package: one ``<REGISTRY> <Name> <module>`` line per name
INDEX_FILE = 'registered.txt'


def _registries() -> dict:
    from visrep.registry import REGISTRIES
    return REGISTRIES


def _within(module: str, package: str) -> bool:
    """``module`` is ``package`` or one of its submodules."""
    return module == package or module.startswith(package + '.')


def indexed_packages() -> Dict[str, str]:
    """``{package: folder}`` of the lazily imported core and every plugin."""
    found = {}
    for package in LAZY_CORE_PACKAGES:
        spec = importlib.util.find_spec(package)
        found[package] = list(spec.submodule_search_locations)[0]
    spec = importlib.util.find_spec(PLUGIN_PACKAGE)
    for root in spec.submodule_search_locations:
        for info in pkgutil.iter_modules([root]):
            if info.ispkg:
                found[f'{PLUGIN_PACKAGE}.{info.name}'] = osp.join(root,
                                                                  info.name)
    return found


def read_index(path: str) -> List[Tuple[str, str, str]]:
    """The ``(REGISTRY, Name, module)`` lines of one ``registered.txt``."""
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 3 or fields[0] not in _registries():
                raise ValueError(
                    f'{path}:{number}: expected "<REGISTRY> <Name> <module>" '
                    f'with REGISTRY one of {sorted(_registries())}, got '
                    f'{line!r}. Fix: regenerate it with '
                    '`python -m visrep.registry_index`.')
            entries.append((fields[0], fields[1], fields[2]))
    return entries


@functools.lru_cache(maxsize=None)
def registry_index() -> Dict[Tuple[str, str], str]:
    """``{(REGISTRY, Name): defining module}`` from every ``registered.txt``."""
    index = {}
    for package, folder in sorted(indexed_packages().items()):
        path = osp.join(folder, INDEX_FILE)
        if not osp.isfile(path):
            continue
        for attr, name, module in read_index(path):
            if not _within(module, package):
                raise ValueError(
                    f'{path}: {attr} {name} names module {module!r}, which is '
                    f'outside {package}. Fix: regenerate it with '
                    '`python -m visrep.registry_index`.')
            if (attr, name) in index:
                raise ValueError(
                    f'{attr} {name} is listed by both {index[attr, name]} and '
                    f'{module}: names in the visrep scope are unique.')
            index[attr, name] = module
    return index


def registered_by_package() -> Dict[str, List[Tuple[str, str, str]]]:
    """Import every indexed package fully; what each one registers.

    Returns ``{package: [(REGISTRY, Name, defining module), ...]}``; a name
    belongs to the package whose module defines the registered object.
    """
    packages = sorted(indexed_packages().items())
    for package, folder in packages:
        importlib.import_module(package)
        for info in pkgutil.walk_packages([folder], prefix=package + '.'):
            importlib.import_module(info.name)
    owned = {package: [] for package, _ in packages}
    for attr, registry in sorted(_registries().items()):
        for name, obj in sorted(registry._module_dict.items()):
            module = getattr(obj, '__module__', '') or ''
            for package in owned:
                if _within(module, package):
                    owned[package].append((attr, name, module))
    return owned


def write_indexes() -> None:
    """Rewrite each indexed package's ``registered.txt``."""
    folders = indexed_packages()
    for package, entries in registered_by_package().items():
        path = osp.join(folders[package], INDEX_FILE)
        with open(path, 'w') as f:
            f.write(f'# What {package} registers in the visrep scope: '
                    '<REGISTRY> <Name> <module>.\n# visrep.registry imports '
                    'only the listed module when a config asks for\n# '
                    'visrep.<Name>.  Written by `python -m '
                    'visrep.registry_index`.\n')
            f.writelines(f'{attr} {name} {module}\n'
                         for attr, name, module in entries)
        print(f'{path}: {len(entries)} names')


if __name__ == '__main__':
    write_indexes()
