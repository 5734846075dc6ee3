"""Post-import hooks and stand-ins for modules a package failed to ship.

Both act through one finder placed first on ``sys.meta_path``.  It answers
only for the module names registered with it; for those it asks the other
finders for the real module and

* runs the registered callbacks right after the real module has executed
  (:func:`when_imported`), or
* if no finder knows the module, builds a stand-in from a factory
  (:func:`provide_if_missing`).

Installed files are never edited.
"""
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Callable, Dict, List, Optional

ModuleCallback = Callable[[types.ModuleType], None]


class _HookedLoader(importlib.abc.Loader):
    """Delegates to the real loader, then runs the callbacks on the module."""

    def __init__(self, loader, callbacks: List[ModuleCallback]):
        self._loader = loader
        self._callbacks = callbacks

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for callback in self._callbacks:
            callback(module)

    def __getattr__(self, name):  # get_source, get_code, is_package, ...
        return getattr(self._loader, name)


class _StandInLoader(importlib.abc.Loader):
    """Executes a factory that fills an empty module."""

    def __init__(self, factory: ModuleCallback):
        self._factory = factory

    def create_module(self, spec):
        return None  # default module creation

    def exec_module(self, module):
        self._factory(module)


class _HookFinder(importlib.abc.MetaPathFinder):

    def __init__(self):
        self.callbacks: Dict[str, List[ModuleCallback]] = {}
        self.stand_ins: Dict[str, tuple] = {}
        self._local = threading.local()

    def _real_spec(self, fullname, path, target):
        self._local.busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, 'find_spec'):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    return spec
            return None
        finally:
            self._local.busy = False

    def find_spec(self, fullname, path, target=None):
        if getattr(self._local, 'busy', False):
            return None
        if fullname not in self.callbacks and fullname not in self.stand_ins:
            return None
        spec = self._real_spec(fullname, path, target)
        if spec is None and fullname in self.stand_ins:
            factory, is_package = self.stand_ins[fullname]
            spec = importlib.util.spec_from_loader(
                fullname, _StandInLoader(factory), is_package=is_package)
            if is_package:
                spec.submodule_search_locations = []
        if spec is not None and fullname in self.callbacks and spec.loader:
            spec.loader = _HookedLoader(spec.loader, self.callbacks[fullname])
        return spec


_FINDER: Optional[_HookFinder] = None


def _finder() -> _HookFinder:
    global _FINDER
    if _FINDER is None:
        _FINDER = _HookFinder()
        sys.meta_path.insert(0, _FINDER)
    return _FINDER


def when_imported(module_name: str, callback: ModuleCallback) -> None:
    """Call ``callback(module)`` once ``module_name`` has been imported.

    If the module is already imported the callback runs at once.
    """
    module = sys.modules.get(module_name)
    if module is not None:
        callback(module)
    _finder().callbacks.setdefault(module_name, []).append(callback)


def provide_if_missing(module_name: str,
                       factory: ModuleCallback,
                       is_package: bool = False) -> None:
    """Serve a stand-in for ``module_name`` if no installed file provides it.

    ``factory(module)`` fills the empty stand-in module when it is imported.
    A real module of that name, when present, always wins.
    """
    _finder().stand_ins[module_name] = (factory, is_package)
