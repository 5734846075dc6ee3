"""Prompt templates: one is sampled per class per step in training, all are
averaged at test (CLIP's prompt ensemble, as the iCAR heads do).

A template set is a name below or a list of strings with one ``{}``.
"""
from itertools import product
from typing import Dict, List, Sequence, Union

#: a few plain templates for images (ours; the small-data configs use them)
SIMPLE = [
    'a photo of a {}.',
    'a picture of a {}.',
    'an image of the {}.',
    'a photo of the {}.',
    'a close-up photo of a {}.',
    'a rendering of a {}.',
]

#: the pattern of the iCAR Kinetics head's templates: "a {photo|video|
#: example|demonstration} of [a person {using|doing|during|performing|
#: practicing}] {}." -- 24 strings; the head lists 28, the other 4 are
#: unknown (see README)
VIDEO = [
    f'a {medium} of {who}{{}}.'
    for medium, who in product(
        ('photo', 'video', 'example', 'demonstration'),
        ('', 'a person using ', 'a person doing ', 'a person during ',
         'a person performing ', 'a person practicing '))
]

TEMPLATE_SETS: Dict[str, List[str]] = {
    'none': ['{}'],
    'simple': SIMPLE,
    'video': VIDEO,
}


def _openai_imagenet() -> List[str]:
    """CLIP's 80 ImageNet templates, read from the installed open_clip."""
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES
    return [t('{}') for t in OPENAI_IMAGENET_TEMPLATES]


LAZY_SETS = {'openai_imagenet': _openai_imagenet}


def resolve_templates(templates: Union[str, Sequence[str]],
                      field: str = 'templates') -> List[str]:
    """A template set name or a list -> the list (each with one ``{}``)."""
    if isinstance(templates, str):
        if templates in TEMPLATE_SETS:
            return list(TEMPLATE_SETS[templates])
        if templates in LAZY_SETS:
            return LAZY_SETS[templates]()
        raise KeyError(f'{field}={templates!r}: unknown template set; give '
                       f'one of {sorted(TEMPLATE_SETS) + sorted(LAZY_SETS)} '
                       'or a list of strings with one "{}".')
    templates = list(templates)
    if not templates:
        raise ValueError(f'{field} is empty: give at least one template.')
    for t in templates:
        if not isinstance(t, str) or t.count('{}') != 1:
            raise ValueError(f'{field}: {t!r} must be a string with exactly '
                             'one "{}" where the class text goes.')
    return templates
