"""NumPy 2 names that the pinned OpenMMLab releases still use.

NumPy 2.0 removed ``np.Inf``, ``np.NAN`` and ``np.float``; NumPy 2.4 removed
``np.trapz`` and ``np.in1d``.  A handful of runtime paths in the pinned
toolkits still call them (found by grepping the installed sources).  Instead
of putting the old names back on the global ``numpy`` module, each affected
module gets its own view of NumPy (its module-level ``np``) that also answers
the removed names, so code outside these modules still sees plain NumPy 2.
"""
import types

import numpy

from .import_hooks import when_imported


def _in1d(ar1, ar2, assume_unique=False, invert=False, *, kind=None):
    """``np.in1d``: ``np.isin`` on the flattened first argument."""
    return numpy.isin(
        numpy.ravel(ar1), ar2, assume_unique=assume_unique, invert=invert,
        kind=kind)


#: removed name -> its NumPy 2 equivalent
LEGACY_NAMES = {
    'Inf': numpy.inf,
    'NAN': numpy.nan,
    'float': float,
    'trapz': getattr(numpy, 'trapezoid', None) or getattr(numpy, 'trapz'),
    'in1d': _in1d,
}

#: module -> the removed names it uses (``grep`` of the pinned releases)
AFFECTED_MODULES = {
    'mmaction.evaluation.functional.accuracy': ('trapz', ),
    'mmaction.evaluation.functional.ava_evaluation.metrics': ('NAN', ),
    'mmaction.evaluation.metrics.multimodal_metric': ('in1d', ),
    'mmaction.datasets.transforms.pose_transforms': ('Inf', ),
    'mmaction.utils.misc': ('Inf', ),
    'mmpretrain.evaluation.metrics.retrieval': ('in1d', ),
    'mmdet.evaluation.functional.ytviseval': ('float', ),
}


class NumpyWithLegacyNames(types.ModuleType):
    """NumPy, plus the names in :data:`LEGACY_NAMES` it no longer has."""

    def __getattr__(self, name):
        try:
            return getattr(numpy, name)
        except AttributeError:
            if name in LEGACY_NAMES:
                return LEGACY_NAMES[name]
            raise

    def __dir__(self):
        return sorted(set(dir(numpy)) | set(LEGACY_NAMES))


LEGACY_NUMPY = NumpyWithLegacyNames('numpy')


def _give_legacy_numpy(module: types.ModuleType) -> None:
    if getattr(module, 'np', None) is numpy:
        module.np = LEGACY_NUMPY


def install() -> None:
    for module_name in AFFECTED_MODULES:
        when_imported(module_name, _give_legacy_numpy)
