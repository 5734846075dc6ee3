"""The checkpoint files a config will read, and what is wrong with one.

Checked by ``tools/train.py`` / ``tools/test.py`` before the runner is built
(:func:`visrep.cli.config_checks.check_checkpoint_fields`), so a missing or
unusable file is an error naming the field, not a traceback after minutes of
setup:

* ``load_from`` (``--resume PATH``, ``tools/test.py``'s checkpoint);
* every ``init_cfg=dict(type='Pretrained', checkpoint=...)`` nested in
  ``model`` (training only: the runner initialises weights in ``train``).

Remote names (``https://``, ``torchvision://``, ``pkg://`` ...) are left to
mmengine.  A missing file under ``work_dirs/<name>/`` for which a config
``<name>.py`` ships is the output of that config's training (e.g. the
SimMIM fine-tune configs read the pre-training's checkpoint), and the
message says which command writes it.
"""
import glob
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from visrep.compat import weights_only_load


def is_remote(path: str) -> bool:
    """``scheme://...`` names, which mmengine's loaders resolve."""
    return '://' in path


def init_cfg_checkpoints(node, path: str) -> Iterator[Tuple[str, str]]:
    """(field, file) for every ``init_cfg`` with a ``checkpoint`` under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f'{path}.{key}'
            if key == 'init_cfg':
                items = value if isinstance(value, (list, tuple)) else [value]
                for i, item in enumerate(items):
                    where = sub if items is not value else f'{sub}[{i}]'
                    if isinstance(item, dict) and isinstance(
                            item.get('checkpoint'), str):
                        yield f'{where}.checkpoint', item['checkpoint']
            else:
                yield from init_cfg_checkpoints(value, sub)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from init_cfg_checkpoints(value, f'{path}[{i}]')


def checkpoint_fields(cfg, mode: str) -> List[Tuple[str, str]]:
    """(field, file) of the local checkpoints a ``train``/``test`` run reads."""
    fields = []
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and load_from:
        name = ('checkpoint' if mode == 'test' else
                '--resume' if cfg.get('resume') else 'load_from')
        fields.append((name, load_from))
    if mode == 'train':
        fields += list(init_cfg_checkpoints(cfg.get('model'), 'model'))
    return [(f, p) for f, p in fields if not is_remote(p)]


def producing_config(path: str) -> Optional[str]:
    """The shipped config whose training writes ``path`` (a file under
    ``work_dirs/<name>/`` with a config ``<name>.py``), or None."""
    from visrep.compat.mmengine_package_configs import config_dirs
    parts = osp.normpath(path).split(osp.sep)
    if 'work_dirs' not in parts[:-2]:
        return None
    name = parts[parts.index('work_dirs') + 1]
    for directory in config_dirs():
        found = glob.glob(osp.join(glob.escape(directory), '**', f'{name}.py'),
                          recursive=True)
        if found:
            return osp.relpath(found[0], osp.dirname(directory))
    return None


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be loaded as a checkpoint, or None: missing, not
    a ``torch.save`` file, or holding globals outside the weights-only
    allow-list (unless ``VISREP_TRUST_CHECKPOINTS=1``).  A directory (a
    sharded FSDP checkpoint) is left to its strategy."""
    if osp.isdir(path):
        return None
    if not osp.isfile(path):
        problem = (f'file {path!r} does not exist (relative paths are read '
                   f'from {osp.abspath(".")!r})')
        config = producing_config(path)
        if config is not None:
            problem += (f'. It is written by training {config}: run '
                        f'`python tools/train.py {config}` first')
        return problem
    try:
        weights_only_load.check_checkpoint_format(path)
    except weights_only_load.NotACheckpointError as err:
        return str(err)
    if not weights_only_load.trust_checkpoints():
        names = weights_only_load.unsafe_globals(path)
        if names:
            return str(weights_only_load.refusal(path, names))
    return None
