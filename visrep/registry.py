"""The ``visrep`` registry scope: one child of every mmengine root registry.

Every module of the suite registers here, once, when its plugin package is
imported.  Because these registries are children of mmengine's roots, a config
whose ``default_scope`` is ``mmdet``, ``mmseg``, ``mmpretrain`` or ``mmaction``
builds them by writing the scope in front of the name::

    backbone=dict(type='visrep.SwinTransformerV2', ...)          # MODELS
    norm_cfg=dict(type='visrep.CBN', ...)                        # build_norm_layer
    plugins=[dict(cfg=dict(type='visrep.DNLBlock'), ...)]        # build_plugin_layer
    custom_hooks=[dict(type='visrep.BalancedSparsityHook', ...)] # HOOKS

mmengine resolves ``'visrep.X'`` by importing ``visrep.registry`` (this file)
and then the ``locations`` below, so such a config needs no ``custom_imports``.
The scope prefix is required: a bare ``'X'`` is looked up in the default
scope's registry, where a same-named toolkit module (e.g. mmpretrain's
``SwinTransformerV2``) would otherwise win silently.
"""
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

SCOPE = 'visrep'

#: Packages imported the first time a ``visrep.*`` name is looked up: the
#: suite's own engine pieces and every plugin package under ``projects/``.
LOCATIONS = ['visrep.engine', 'projects']


def _child(name: str, parent: Registry) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=LOCATIONS)


RUNNERS = _child('runner', MMENGINE_RUNNERS)
LOOPS = _child('loop', MMENGINE_LOOPS)
HOOKS = _child('hook', MMENGINE_HOOKS)
DATASETS = _child('dataset', MMENGINE_DATASETS)
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS)
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS)
MODELS = _child('model', MMENGINE_MODELS)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)
METRICS = _child('metric', MMENGINE_METRICS)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS)
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS)
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS)
