"""The ``visrep`` registry scope: one child of every mmengine root registry.

Every module of the suite registers here, once, when its plugin package is
imported.  Because these registries are children of mmengine's roots, a config
whose ``default_scope`` is ``mmdet``, ``mmseg``, ``mmpretrain`` or ``mmaction``
builds them by writing the scope in front of the name::

    backbone=dict(type='visrep.<Backbone>', ...)       # MODELS
    norm_cfg=dict(type='visrep.<Norm>', ...)            # mmcv build_norm_layer
    plugins=[dict(cfg=dict(type='visrep.<Block>'), ...)]  # build_plugin_layer
    custom_hooks=[dict(type='visrep.<Hook>', ...)]      # HOOKS

mmengine resolves ``'visrep.X'`` by importing ``visrep.registry`` (this file)
and asking these registries for ``X``.  Each plugin package under
``visrep/projects/`` (and the shared ``visrep.models``) lists what it
registers in its ``registered.txt``; a lookup imports the light core pieces
(``CORE_LOCATIONS``) and, for a name not yet registered, only the module the
lists name: a norm layer of one plugin imports that plugin and no other.
Such a config needs no ``custom_imports``;
``custom_imports=dict(imports=['visrep.projects.<plugin>'])`` works too.  The
scope prefix is required: a bare ``'X'`` is looked up in the default scope's
registry, where a same-named toolkit module would otherwise win silently.

``python -m visrep.registry_index`` rewrites every ``registered.txt`` from what
importing the packages registers (a test checks they are current).
"""
import importlib

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

import visrep.compat  # noqa: F401  (the compatibility layer comes first)
from visrep.registry_index import registry_index

SCOPE = 'visrep'

#: Imported the first time a ``visrep.*`` name is looked up: the engine
#: pieces (torch and mmengine only, no toolkit).
CORE_LOCATIONS = ['visrep.engine']


class PluginRegistry(Registry):
    """A ``visrep`` registry that imports only the module owning a name.

    mmengine's :class:`~mmengine.registry.Registry` imports all its
    ``locations`` on the first lookup.  Here the location is the light core
    (:data:`CORE_LOCATIONS`); a name still missing after it is looked up in
    the ``registered.txt`` indexes and only the module defining it is
    imported -- with it, its plugin package, and no other plugin.
    """

    def __init__(self, attr: str, name: str, parent: Registry):
        super().__init__(name, parent=parent, scope=SCOPE,
                         locations=CORE_LOCATIONS)
        #: this registry's name in this module (``MODELS``, ``HOOKS``, ...)
        self.attr = attr

    def get(self, key: str):
        scope, real_key = self.split_scope_key(key)
        if scope in (None, self.scope):
            self.import_from_location()
            if real_key not in self._module_dict:
                module = registry_index().get((self.attr, real_key))
                if module is not None:
                    importlib.import_module(module)
        return super().get(key)


RUNNERS = PluginRegistry('RUNNERS', 'runner', MMENGINE_RUNNERS)
LOOPS = PluginRegistry('LOOPS', 'loop', MMENGINE_LOOPS)
HOOKS = PluginRegistry('HOOKS', 'hook', MMENGINE_HOOKS)
DATASETS = PluginRegistry('DATASETS', 'dataset', MMENGINE_DATASETS)
DATA_SAMPLERS = PluginRegistry('DATA_SAMPLERS', 'data sampler',
                               MMENGINE_DATA_SAMPLERS)
TRANSFORMS = PluginRegistry('TRANSFORMS', 'transform', MMENGINE_TRANSFORMS)
MODELS = PluginRegistry('MODELS', 'model', MMENGINE_MODELS)
MODEL_WRAPPERS = PluginRegistry('MODEL_WRAPPERS', 'model_wrapper',
                                MMENGINE_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = PluginRegistry('WEIGHT_INITIALIZERS',
                                     'weight initializer',
                                     MMENGINE_WEIGHT_INITIALIZERS)
OPTIMIZERS = PluginRegistry('OPTIMIZERS', 'optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = PluginRegistry('OPTIM_WRAPPERS', 'optim_wrapper',
                                MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = PluginRegistry(
    'OPTIM_WRAPPER_CONSTRUCTORS', 'optimizer constructor',
    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = PluginRegistry('PARAM_SCHEDULERS', 'parameter scheduler',
                                  MMENGINE_PARAM_SCHEDULERS)
METRICS = PluginRegistry('METRICS', 'metric', MMENGINE_METRICS)
EVALUATOR = PluginRegistry('EVALUATOR', 'evaluator', MMENGINE_EVALUATOR)
TASK_UTILS = PluginRegistry('TASK_UTILS', 'task util', MMENGINE_TASK_UTILS)
VISUALIZERS = PluginRegistry('VISUALIZERS', 'visualizer',
                             MMENGINE_VISUALIZERS)
VISBACKENDS = PluginRegistry('VISBACKENDS', 'vis_backend',
                             MMENGINE_VISBACKENDS)
LOG_PROCESSORS = PluginRegistry('LOG_PROCESSORS', 'log_processor',
                                MMENGINE_LOG_PROCESSORS)
FUNCTIONS = PluginRegistry('FUNCTIONS', 'function', MMENGINE_FUNCTIONS)

#: every registry of the scope, by its name in this module
REGISTRIES = {name: value for name, value in globals().items()
              if isinstance(value, PluginRegistry)}
