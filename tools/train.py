#!/usr/bin/env python
"""Train a config of any of the four toolkits (picked from its default_scope).

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--resume [auto|PATH]]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]
"""
from visrep.cli.train import cli

if __name__ == '__main__':
    cli()
