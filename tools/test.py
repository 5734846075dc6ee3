#!/usr/bin/env python
"""Evaluate a checkpoint of any of the four toolkits (picked from default_scope).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...] [--launcher ...]
"""
from visrep.cli.test import cli

if __name__ == '__main__':
    cli()
