"""Is the installed mmcv usable here?  The check behind tools/setup_env.sh.

Run with the environment's python::

    python tools/setup_env_mmcv.py --expected 2.1.0
    python tools/setup_env_mmcv.py --expected 2.1.0 --facts '{"...": ...}'

It prints ``<action>: <reason>`` and exits with the action's code:
``ok`` (0), ``install`` (10: no mmcv or another version; pip's cached wheel
will do), ``rebuild`` (11: the installed mmcv lacks its compiled ops, or
CUDA is present and its CUDA kernels are missing or fail: build from source
bypassing pip's cache), ``no-compiler`` (12: a rebuild for CUDA needs nvcc,
which torch cannot find).  Where CUDA is present the check runs a CUDA op
(``mmcv.ops.nms`` on the GPU), so an mmcv built on a machine without CUDA
and cached by pip is not reused on GPU nodes.  ``--facts`` replaces the
probe with given facts (the decision is testable without a GPU).
"""
import argparse
import json
import sys
from typing import Any, Dict, Optional, Tuple

EXIT_CODES = {'ok': 0, 'install': 10, 'rebuild': 11, 'no-compiler': 12}
NO_CUDA = 'not available'  # mmcv's get_compiling_cuda_version() without CUDA


def _cuda_op_error() -> Optional[str]:
    """``None`` if mmcv's CUDA nms runs, else the error it raised."""
    try:
        import torch
        from mmcv.ops import nms
        boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]],
                             device='cuda')
        keep = nms(boxes, torch.tensor([0.9, 0.8], device='cuda'), 0.5)[1]
        torch.cuda.synchronize()
        if keep.tolist() != [0]:
            return f'nms kept {keep.tolist()} instead of [0]'
    except Exception as error:  # any failure means: no usable kernels
        return f'{type(error).__name__}: {error}'
    return None


def probe() -> Dict[str, Any]:
    """Facts about this environment's mmcv and torch."""
    facts: Dict[str, Any] = dict(version=None, ops_error=None,
                                 compiled_cuda=None, cuda_available=False,
                                 cuda_op_error=None, cuda_home=None)
    import torch
    facts['cuda_available'] = torch.cuda.is_available()
    if facts['cuda_available']:  # (it guesses and warns without CUDA)
        from torch.utils.cpp_extension import CUDA_HOME
        facts['cuda_home'] = CUDA_HOME
    try:
        import mmcv
    except Exception as error:
        facts['import_error'] = f'{type(error).__name__}: {error}'
        return facts
    facts['version'] = mmcv.__version__
    try:
        from mmcv.ops import get_compiling_cuda_version
        from mmcv.ops import RoIAlign, batched_nms, sigmoid_focal_loss  # noqa
        facts['compiled_cuda'] = get_compiling_cuda_version()
    except Exception as error:
        facts['ops_error'] = f'{type(error).__name__}: {error}'
        return facts
    if facts['cuda_available']:
        facts['cuda_op_error'] = _cuda_op_error()
    return facts


def decide(facts: Dict[str, Any], expected: str) -> Tuple[str, str]:
    """``(action, reason)`` for the facts of :func:`probe`."""
    if facts.get('version') is None:
        return 'install', 'mmcv is not installed ({})'.format(
            facts.get('import_error', 'no module'))
    if facts['version'] != expected:
        return 'install', (f'mmcv {facts["version"]} is installed, '
                           f'not {expected}')
    if facts.get('ops_error'):
        action = 'rebuild'
        reason = f'mmcv {expected} has no compiled ops ({facts["ops_error"]})'
    elif facts.get('cuda_available') and facts.get('compiled_cuda') == NO_CUDA:
        action = 'rebuild'
        reason = (f'CUDA is present but mmcv {expected} was built without '
                  'CUDA kernels (a wheel built on a machine without CUDA?)')
    elif facts.get('cuda_available') and facts.get('cuda_op_error'):
        action = 'rebuild'
        reason = (f'mmcv {expected} (built for CUDA {facts["compiled_cuda"]}) '
                  f'fails a CUDA op: {facts["cuda_op_error"]}')
    else:
        where = ('CUDA op ran' if facts.get('cuda_available')
                 else 'no CUDA here')
        return 'ok', f'mmcv {expected} with compiled ops ({where})'
    if facts.get('cuda_available') and not facts.get('cuda_home'):
        return 'no-compiler', (
            f'{reason}; building its CUDA kernels needs nvcc, which torch '
            'does not find: install the CUDA toolkit matching torch '
            '(torch.version.cuda) and set CUDA_HOME')
    return action, reason


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--expected', required=True,
                        help='the mmcv version wanted (requirements/mmcv.txt)')
    parser.add_argument('--facts', help='JSON facts instead of probing')
    args = parser.parse_args(argv)
    if args.facts:
        try:
            facts = json.loads(args.facts)
        except json.JSONDecodeError as error:
            parser.error(f'--facts is not JSON: {error}')
    else:
        facts = probe()
    action, reason = decide(facts, args.expected)
    print(f'{action}: {reason}')
    return EXIT_CODES[action]


if __name__ == '__main__':
    sys.exit(main())
