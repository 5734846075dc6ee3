#!/usr/bin/env python
"""Print the resolved config: ``_base_`` files merged, ``--cfg-options``
applied, as mmengine's ``Config.pretty_text`` (what the toolkits'
``tools/misc/print_config.py`` prints).  Works for configs of all four
toolkits and for shipped ``visrep::<plugin>/<name>.py`` names.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...] \\
        [--dump resolved.py]
"""
import argparse
import sys
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

import visrep  # noqa: F401  (compatibility layer, visrep registries)
from visrep.cli.common import run_cli
from visrep.cli.toolkit_tools import load_tool_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the whole config.')
    parser.add_argument('config',
                        help='config file or visrep::<plugin>/<name>.py')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config fields, key=value pairs, e.g. '
        'model.backbone.depth=18; a list is key="[a,b]"')
    parser.add_argument('--dump', help='also write the resolved config to '
                        'this file (.py, .json or .yaml)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Config:
    """Print (and ``--dump``) the resolved config; returns it."""
    args = parse_args(argv)
    cfg = load_tool_config(args.config, args.cfg_options)
    sys.stdout.write(cfg.pretty_text + '\n')
    if args.dump:
        cfg.dump(args.dump)
    return cfg


if __name__ == '__main__':
    run_cli(main)
