"""iCAR models in the toolkits' own inferencers.

``tools/test.py`` gives a text classifier whose ``classes`` is ``None``
the class names of the test set through ``visrep.ICARClassNamesHook``.
The inferencers (mmpretrain's ``ImageClassificationInferencer``, mmseg's
``MMSegInferencer``, mmaction2's ``ActionRecogInferencer``) run no hooks,
so such a model raised "class_text.classes is not set" on its first
image.  And mmpretrain's inferencer names a predicted index after the
checkpoint's training classes, while ``visrep.ICAR`` scores the classes
of its text classifier (``test_class_text``: the held-out classes of a
zero-shot config), so ``pred_class`` named the wrong class.

:func:`install` wraps ``__call__`` of mmengine's and mmpretrain's
``BaseInferencer`` (every inferencer above calls it) so that, before the
first batch, :func:`prepare_inferencer`

* fills every text classifier that takes its classes from the dataset
  with the classes ``tools/test.py`` would give it: the ``metainfo`` of
  the config's test set, else the checkpoint's ``dataset_meta``;
* makes the class names mmpretrain's inferencer reports those of the
  classes ``visrep.ICAR`` scores, unless ``classes=`` was given.

Models without a text classifier are left as they are.  Installed files
are never edited.
"""
import copy
import functools
from typing import Any, List, Optional, Sequence

from torch import nn

from visrep.compat.import_hooks import when_imported
from .datasets import unwrap_dataset
from .icar import ICAR
from .text_classifier import dataset_eval_class_texts, text_classifiers

#: the modules whose ``BaseInferencer.__call__`` is wrapped
INFERENCER_BASES = ('mmengine.infer.infer', 'mmpretrain.apis.base')

_WRAPPED = '_visrep_icar_prepares'


def needs_dataset_classes(model: nn.Module) -> bool:
    """Whether a text classifier of ``model`` still waits for the class
    names of the dataset (``classes=None`` and none given yet)."""
    for head in text_classifiers(model):
        target = head.test_class_text or head.class_text
        if target.from_dataset and target.names is None:
            return True
    return False


def fill_eval_classes(model: nn.Module, names: Sequence[str]) -> None:
    """Give the evaluation class list ``names`` to every text classifier of
    ``model`` that takes its classes from the dataset, as
    ``ICARClassNamesHook`` does before testing."""
    for target in dataset_eval_class_texts(model):
        if target.names is None:
            target.set_classes(names)


def eval_dataset_classes(cfg: Any) -> Optional[List[str]]:
    """``metainfo['classes']`` of the config's test set (built without
    reading its annotations), or ``None`` when it lists none."""
    from mmengine.registry import DATASETS, DefaultScope
    loader = cfg.get('test_dataloader') or {}
    if 'dataset' not in loader:
        return None
    dataset_cfg = copy.deepcopy(loader['dataset'])
    dataset_cfg['lazy_init'] = True
    dataset_cfg['pipeline'] = []
    scope = cfg.get('default_scope')
    with DefaultScope.overwrite_default_scope(scope):
        dataset = unwrap_dataset(DATASETS.build(dataset_cfg))
    return None if dataset is None else list(dataset.metainfo['classes'])


def checkpoint_classes(model: nn.Module) -> Optional[List[str]]:
    """The classes the inferencer read from the checkpoint's
    ``dataset_meta`` (mmseg/mmdet: ``model.dataset_meta``, mmpretrain:
    ``model._dataset_meta``)."""
    for attr in ('dataset_meta', '_dataset_meta'):
        classes = (getattr(model, attr, None) or {}).get('classes')
        if classes:
            return list(classes)
    return None


def _config_of(inferencer: Any) -> Any:
    # mmengine's inferencers keep it as ``cfg``, mmpretrain's as ``config``
    cfg = getattr(inferencer, 'cfg', None)
    return cfg if cfg is not None else getattr(inferencer, 'config', None)


def prepare_inferencer(inferencer: Any) -> None:
    """Give the inferencer's iCAR model what ``tools/test.py``'s hooks give
    it (see the module docstring); a no-op for other models."""
    model = getattr(inferencer, 'model', None)
    if not isinstance(model, nn.Module):
        return
    if needs_dataset_classes(model):
        cfg = _config_of(inferencer)
        names = (eval_dataset_classes(cfg) if cfg is not None else None) \
            or checkpoint_classes(model)
        if not names:
            raise ValueError(
                'an iCAR text classifier takes its classes from the dataset '
                '(class_text.classes=None), but neither the test set of the '
                "config nor the checkpoint's dataset_meta lists classes: "
                'give the class names in the config '
                '(class_text.classes / test_class_text.classes).')
        fill_eval_classes(model, names)
    _name_predicted_classes(inferencer, model)


def _name_predicted_classes(inferencer: Any, model: nn.Module) -> None:
    """mmpretrain: report the names of the classes ``visrep.ICAR``'s text
    classifier scores, unless the user gave ``classes=``."""
    if not isinstance(model, ICAR) or model.test_classifier != 'text' \
            or not hasattr(inferencer, 'classes'):
        return
    default = (getattr(model, '_dataset_meta', None) or {}).get('classes')
    names = model.text_classifier.eval_set.names
    if names is not None and inferencer.classes is default:
        inferencer.classes = list(names)


def _wrap_call(base: type) -> None:
    call = base.__call__
    if getattr(call, _WRAPPED, False):
        return

    @functools.wraps(call)
    def __call__(self, *args, **kwargs):
        prepare_inferencer(self)
        return call(self, *args, **kwargs)

    setattr(__call__, _WRAPPED, True)
    base.__call__ = __call__


def install() -> None:
    """Wrap the inferencers' ``__call__`` (now if their module is imported,
    else when it is); idempotent."""
    for module_name in INFERENCER_BASES:
        when_imported(module_name, lambda m: _wrap_call(m.BaseInferencer))
