"""visrep: seven visual-representation papers as OpenMMLab plugins.

Importing :mod:`visrep` applies the compatibility layer (:mod:`visrep.compat`)
for the pinned stack, every patch of an installed package included.  Modules
register in the ``visrep`` scope (:mod:`visrep.registry`) and are written
``type='visrep.<Name>'`` in configs of any toolkit scope.
"""
from . import compat  # noqa: F401  (applies the fixes on import)
from .version import __version__

__all__ = ['__version__']
