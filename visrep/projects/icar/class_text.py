"""Class text: ``"name: description"``, from offline sources only.

iCAR enriches every class name with its dictionary description.  Sources:

* ``'timm:imagenet-1k'`` / ``'timm:imagenet-22k'`` / any timm ImageNet
  subset: the WordNet lemmas and glosses that ``timm`` ships
  (``timm/data/_info``), keyed by the lemma string ("tench, Tinca tinca",
  which is also mmpretrain's ImageNet class name) and by the WordNet id;
* a JSON file ``{"class name": "description", ...}`` or a dict, for any
  other class list.

A name that occurs k times in a class list (ImageNet-1K has two 'crane'
and two 'maillot' synsets) takes, at its k-th occurrence, the description
keyed ``'name#k'`` (timm's tables are keyed so, in synset order).

A class without a description raises (naming the class and the fix) unless
``missing_description='name'``, which falls back to the bare name.
"""
import json
import os.path as osp
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

DESCRIPTION_MODES = ('name_description', 'name')
MISSING_POLICIES = ('error', 'name')
TIMM_PREFIX = 'timm:'
#: the k-th (k >= 2) occurrence of a repeated class name takes the
#: description keyed ``name#k``
REPEAT_MARK = '#'

ClassesSpec = Union[None, str, Sequence[str]]
DescriptionsSpec = Union[None, str, Dict[str, str]]


@lru_cache(maxsize=4)
def imagenet_synsets(subset: str) -> Tuple[Tuple[str, str, str], ...]:
    """``(wnid, lemma, gloss)`` per class of a timm ImageNet subset."""
    from timm.data import ImageNetInfo
    try:
        info = ImageNetInfo(subset)
    except AssertionError as e:
        raise KeyError(f'{TIMM_PREFIX}{subset}: not a timm ImageNet subset '
                       '(e.g. imagenet-1k, imagenet-22k, imagenet-21k-goog, '
                       'imagenet-12k).') from e
    rows = []
    for wnid in info.label_names():
        lemma = info.label_name_to_description(wnid, detailed=False)
        detailed = info.label_name_to_description(wnid, detailed=True)
        rows.append((wnid, lemma, detailed[len(lemma) + 2:]))
    return tuple(rows)


def load_class_names(classes: ClassesSpec, field: str = 'classes'
                     ) -> Optional[List[str]]:
    """A class list: a list, ``'timm:<subset>'`` (lemmas), a ``.txt`` file
    (one name per line) or a ``.json`` list; ``None`` stays ``None``
    (filled from the dataset by ``visrep.ICARClassNamesHook``)."""
    if classes is None:
        return None
    if isinstance(classes, str):
        if classes.startswith(TIMM_PREFIX):
            return [lemma for _, lemma, _ in
                    imagenet_synsets(classes[len(TIMM_PREFIX):])]
        if not osp.isfile(classes):
            raise FileNotFoundError(
                f'{field}={classes!r}: no such file; give a list of names, '
                "a .txt (one per line) or .json list, or 'timm:imagenet-1k'.")
        with open(classes) as f:
            names = json.load(f) if classes.endswith('.json') else [
                line.strip() for line in f if line.strip()]
    else:
        names = list(classes)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f'{field}: expected a non-empty list of non-empty '
                         f'strings, got {str(names)[:200]}')
    return names


def load_descriptions(source: DescriptionsSpec,
                      field: str = 'descriptions') -> Dict[str, str]:
    """``name -> description`` from ``'timm:<subset>'``, a JSON file or
    a dict."""
    if source is None:
        return {}
    if isinstance(source, dict):
        table = dict(source)
    elif source.startswith(TIMM_PREFIX):
        table = {}
        for wnid, lemma, gloss in imagenet_synsets(source[len(TIMM_PREFIX):]):
            table[wnid] = gloss
            key, k = lemma, 1
            while key in table:  # IN-1K lists 'crane' and 'maillot' twice
                k += 1
                key = f'{lemma}{REPEAT_MARK}{k}'
            table[key] = gloss
        return table
    else:
        if not osp.isfile(source):
            raise FileNotFoundError(
                f'{field}={source!r}: no such file; give a JSON file '
                '{"class name": "description"}, a dict, or '
                "'timm:imagenet-1k' / 'timm:imagenet-22k'.")
        with open(source) as f:
            table = json.load(f)
    if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in table.items()):
        raise ValueError(f'{field}: expected a mapping of class name -> '
                         'description (strings).')
    return table


def class_texts(names: Sequence[str], descriptions: Dict[str, str],
                mode: str = 'name_description', missing: str = 'error',
                separator: str = ': ') -> List[str]:
    """The text of each class: ``name + separator + description`` or ``name``.

    Args:
        mode: ``'name_description'`` (iCAR) or ``'name'`` (the ablation:
            class names only).
        missing: ``'error'`` (default) or ``'name'``: a class without a
            description falls back to its name.
    """
    if mode not in DESCRIPTION_MODES:
        raise ValueError(f'description_mode={mode!r}: choose from '
                         f'{DESCRIPTION_MODES}.')
    if missing not in MISSING_POLICIES:
        raise ValueError(f'missing_description={missing!r}: choose from '
                         f'{MISSING_POLICIES}.')
    if mode == 'name':
        return list(names)
    texts, seen = [], {}
    for name in names:
        seen[name] = k = seen.get(name, 0) + 1
        description = descriptions.get(
            name if k == 1 else f'{name}{REPEAT_MARK}{k}')
        if description is None:
            if missing == 'error':
                raise KeyError(
                    f'class {name!r} has no description. Fix: add it to '
                    'the descriptions (a JSON {"name": "description"}), '
                    "set missing_description='name' to fall back to the "
                    "bare name, or description_mode='name'.")
            texts.append(name)
        else:
            texts.append(f'{name}{separator}{description}')
    return texts
