"""Python >= 3.11: standard-library modules that are frozen in the interpreter.

mmengine 0.10.7 decides whether an ``import`` in a pure-Python ("lazy import")
config is a built-in module by looking at ``find_spec(name).origin``; for
frozen modules (``os``, ``codecs``, ... on Python 3.11) that origin is the
string ``'frozen'``, so ``import os`` in such a config becomes a LazyObject and
breaks (mmengine issue #1523, fixed on its main branch only).  We teach the
check about frozen modules; every other answer is mmengine's own.
"""
import functools
from importlib.util import find_spec


def _is_frozen(module_name: str) -> bool:
    if module_name.startswith('.'):
        return False
    try:
        spec = find_spec(module_name.split('.')[0])
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin == 'frozen'


def install() -> None:
    from mmengine.config import config as config_module
    from mmengine.config import utils as utils_module

    original = utils_module._is_builtin_module
    if getattr(original, '__visrep_patched__', False):
        return

    @functools.wraps(original)
    def _is_builtin_module(module_name: str) -> bool:
        return original(module_name) or _is_frozen(module_name)

    _is_builtin_module.__visrep_patched__ = True
    utils_module._is_builtin_module = _is_builtin_module
    config_module._is_builtin_module = _is_builtin_module
