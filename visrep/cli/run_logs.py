"""Reading what a training run logged in its work dir."""
import glob
import json
import os.path as osp
from typing import List


def read_scalars(work_dir: str) -> List[dict]:
    """Every record of the newest ``vis_data/scalars.json`` in ``work_dir``.

    mmengine's ``LocalVisBackend`` writes one JSON record per logged step
    (training losses, evaluation metrics) under ``<work_dir>/<timestamp>/``.
    """
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]
