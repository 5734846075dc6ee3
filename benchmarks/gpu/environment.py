#!/usr/bin/env python
"""What ``benchmarks/gpu_check.sh`` runs on: Python, torch, CUDA and the
packages its parts need.

    python benchmarks/gpu/environment.py --count      # CUDA devices (0: none)
    python benchmarks/gpu/environment.py --json FILE  # everything, as JSON

``--count`` asks the CUDA driver (``libcuda``, through ctypes: no torch
import, so it answers at once on machines without one) and prints nothing
else, so that the shell script can read it.  In the JSON, torch's own view
is recorded too, and a package that is missing or fails to import is
recorded with its error instead of a version.
"""
import argparse
import ctypes
import importlib
import json
import platform
import sys
from typing import Dict

#: packages the parts import, beyond torch
PACKAGES = ('torchvision', 'timm', 'numpy', 'mmengine', 'mmcv', 'mmpretrain',
            'mmdet', 'mmseg', 'mmaction')


def driver_device_count() -> int:
    """CUDA devices the driver sees (``CUDA_VISIBLE_DEVICES`` applies); 0
    where there is no driver or no device."""
    try:
        cuda = ctypes.CDLL('libcuda.so.1')
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)):
        return 0
    return count.value


def package_versions() -> Dict[str, str]:
    """``name: version`` or ``name: 'missing: <error>'`` per package."""
    versions = {}
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
            versions[name] = str(getattr(module, '__version__', 'unknown'))
        except Exception as error:  # ImportError, or a broken install
            versions[name] = f'missing: {type(error).__name__}: {error}'
    return versions


def describe() -> dict:
    """The machine and software as the parts will see them."""
    import torch
    info = {
        'python': sys.version.split()[0],
        'platform': platform.platform(),
        'torch': torch.__version__,
        'cuda': torch.version.cuda,
        'cuda_devices': torch.cuda.device_count(),
        'driver_cuda_devices': driver_device_count(),
        'gpus': [torch.cuda.get_device_name(i)
                 for i in range(torch.cuda.device_count())],
    }
    if info['cuda_devices']:
        capability = torch.cuda.get_device_capability(0)
        info['capability'] = f'{capability[0]}.{capability[1]}'
        free, total = torch.cuda.mem_get_info(0)
        info['memory_gib'] = round(total / 2**30, 1)
    info['packages'] = package_versions()
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument('--count', action='store_true',
                      help='print the number of CUDA devices')
    what.add_argument('--json', help='write the description to this file')
    args = parser.parse_args()
    if args.count:
        print(driver_device_count())
        return
    info = describe()
    with open(args.json, 'w') as f:
        json.dump(info, f, indent=1)


if __name__ == '__main__':
    main()
