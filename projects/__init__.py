"""The suite's plugin packages, one per paper.

Each subpackage registers its modules in the ``visrep`` scope when imported.
:data:`visrep.registry.LOCATIONS` lists this package, so the first lookup of
a ``visrep.*`` type imports every plugin named in :data:`PLUGINS` below; a
config can also import one explicitly with
``custom_imports = dict(imports=['projects.<plugin>'], allow_failed_imports=False)``.
"""
import importlib

#: plugin subpackages, imported (and so registered) with this package
PLUGINS = ('swin_v2', 'dnl', 'cbn', 'balanced_sparsity', 'simmim', 'moby',
           'icar')

for _plugin in PLUGINS:
    importlib.import_module(f'{__name__}.{_plugin}')
