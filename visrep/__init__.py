"""visrep: seven visual-representation papers as OpenMMLab plugins.

Importing :mod:`visrep` applies the compatibility layer (:mod:`visrep.compat`)
for the pinned stack.  Modules register in the ``visrep`` scope
(:mod:`visrep.registry`) and are written ``type='visrep.<Name>'`` in configs of
any toolkit scope.
"""
from . import compat  # noqa: F401  (applies the fixes on import)
from . import checkpoint_adapters
from .version import __version__

checkpoint_adapters.install()

__all__ = ['__version__']
