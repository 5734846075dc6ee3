"""Where each small set goes, the refusals that keep real data safe, and the
marker that labels a directory as a generated small set.

The small sets are written under ``data/small/<dataset>/`` (never the
``data/<dataset>`` the full-size configs read).  A generator refuses to write
into a non-empty directory, or through a symbolic link anywhere on the way,
unless ``force`` is set: a user's ``data/`` often links to the real datasets,
and files with the real names (``instances_train2017.json``, ...) would
overwrite them.  A directory that already holds the marker is an earlier
small set and is regenerated in place.
"""
import os
import os.path as osp
from typing import Callable, Dict, List

#: root the tool writes under by default (relative to the current directory)
DEFAULT_OUT = osp.join('data', 'small')

#: name of the marker file left in every generated set
MARKER = 'VISREP_SMALL_DATA'

MARKER_TEXT = (
    'This is the generated small set written by\n'
    'tools/dataset_converters/make_small_datasets.py: a few dozen\n'
    'procedurally drawn images/videos in the real on-disk format, for tests\n'
    'and CPU runs.\n'
    'It is NOT the real dataset. Full-size configs refuse to read it\n'
    '(visrep/cli/small_data_guard.py); small-data configs set\n'
    'small_data = True.\n')

#: dataset name -> directory (under the output root) the generator fills
DATASET_DIRS: Dict[str, str] = {
    'coco': 'coco',
    'ade20k': osp.join('ade', 'ADEChallengeData2016'),
    'cityscapes': 'cityscapes',
    'kinetics400': 'kinetics400',
    'imagenet': 'imagenet',
    'imagenet_captions': 'imagenet',  # extends the imagenet set
    'pascal_context': osp.join('VOCdevkit', 'VOC2010'),
}


class UnsafeTargetError(ValueError):
    """Writing a small set here could overwrite data that is not ours."""


def _symlinks_on_path(path: str) -> List[str]:
    """Every existing component of ``path`` (as written) that is a symlink."""
    links, current = [], path
    while current and current not in (os.sep, '.', osp.dirname(current)):
        if osp.islink(current):
            links.append(current)
        current = osp.dirname(current)
    if current and current != '.' and osp.islink(current):
        links.append(current)
    return links[::-1]


def check_target(directory: str, force: bool = False) -> None:
    """Refuse a target that is, or is reached through, a symlink, and a
    non-empty directory without our marker; ``force`` skips both checks."""
    if force:
        return
    links = _symlinks_on_path(osp.normpath(directory))
    if links:
        raise UnsafeTargetError(
            f'refusing to write the small set into {directory!r}: '
            f'{links[0]!r} is a symbolic link (to '
            f'{os.readlink(links[0])!r}), which may lead to a real dataset '
            'that the generated files would overwrite. Choose another --out, '
            'or pass --force if you are sure.')
    if osp.isdir(directory) and os.listdir(directory) and not osp.isfile(
            osp.join(directory, MARKER)):
        raise UnsafeTargetError(
            f'refusing to write the small set into {directory!r}: the '
            f'directory is not empty and holds no {MARKER} marker, so it may '
            'be a real dataset. Choose another --out (default '
            f'{DEFAULT_OUT}/), or pass --force to write into it anyway.')
    if osp.exists(directory) and not osp.isdir(directory):
        raise UnsafeTargetError(
            f'cannot write the small set into {directory!r}: it is a file. '
            'Choose another --out.')


def write_marker(directory: str) -> str:
    """Leave the marker that labels ``directory`` as a generated small set."""
    os.makedirs(directory, exist_ok=True)
    path = osp.join(directory, MARKER)
    with open(path, 'w') as f:
        f.write(MARKER_TEXT)
    return path


def make_small_dataset(generators: Dict[str, Callable], name: str,
                       out_root: str = DEFAULT_OUT, seed: int = 0,
                       force: bool = False):
    """Check the target, run the generator ``name``, write the marker."""
    directory = osp.join(out_root, DATASET_DIRS[name])
    check_target(directory, force=force)
    counts = generators[name](out_root, seed=seed)
    write_marker(directory)
    return counts
