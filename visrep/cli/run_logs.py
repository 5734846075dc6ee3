"""Reading what a training run logged in its work dir."""
import glob
import json
import os.path as osp
from typing import List, Optional


def newest_scalars_file(work_dir: str) -> Optional[str]:
    """The newest ``<timestamp>/vis_data/scalars.json`` in ``work_dir``, or
    None when no run logged there.

    mmengine's ``LocalVisBackend`` writes one JSON record per logged step
    (training losses, evaluation metrics) under ``<work_dir>/<timestamp>/``.
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    return files[-1] if files else None


def read_json_lines(path: str) -> List[dict]:
    """The records of a json-lines file such as ``scalars.json``."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_scalars(work_dir: str) -> List[dict]:
    """Every record of the newest ``vis_data/scalars.json`` in ``work_dir``."""
    path = newest_scalars_file(work_dir)
    if path is None:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    return read_json_lines(path)
