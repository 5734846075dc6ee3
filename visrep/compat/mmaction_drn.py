"""Stand-in for ``mmaction.models.localizers.drn``, missing from mmaction2 1.2.0.

Both the PyPI wheel and the sdist of mmaction2 1.2.0 lack the folder
``mmaction/models/localizers/drn/`` while ``mmaction/models/localizers/
__init__.py`` imports ``from .drn.drn import DRN``, so ``import
mmaction.models`` fails with ModuleNotFoundError.  We serve a stand-in package
whose ``DRN`` is registered under the same name and raises a clear error when
a config builds it.  If a future mmaction2 ships the real module, it wins.
"""
import types

from .import_hooks import provide_if_missing

DRN_PACKAGE = 'mmaction.models.localizers.drn'
DRN_MODULE = DRN_PACKAGE + '.drn'

MISSING_DRN_MESSAGE = (
    'DRN (temporal grounding) is not available: the mmaction2 1.2.0 '
    'distribution on PyPI does not ship mmaction/models/localizers/drn/, '
    'so visrep registered a stand-in to let `import mmaction.models` work. '
    'To use DRN, install mmaction2 from its GitHub source '
    '(pip install git+https://github.com/open-mmlab/mmaction2.git@v1.2.0).')


def _fill_drn_package(module: types.ModuleType) -> None:
    module.__doc__ = 'visrep stand-in: ' + MISSING_DRN_MESSAGE


def _fill_drn_module(module: types.ModuleType) -> None:
    from mmaction.registry import MODELS
    from torch import nn

    class DRN(nn.Module):
        """Stand-in for mmaction2's DRN; building it raises an error."""

        def __init__(self, *args, **kwargs):
            raise RuntimeError(MISSING_DRN_MESSAGE)

    DRN.__module__ = module.__name__
    MODELS.register_module(module=DRN)
    module.DRN = DRN
    module.__doc__ = 'visrep stand-in: ' + MISSING_DRN_MESSAGE


def install() -> None:
    provide_if_missing(DRN_PACKAGE, _fill_drn_package, is_package=True)
    provide_if_missing(DRN_MODULE, _fill_drn_module)
