"""What every script in ``benchmarks/`` needs: fair, side-by-side timing.

* :func:`alternating_times` runs the contenders in alternating rounds
  (A, B, C, A, B, C, ...) after a warm-up, so that drifts of a shared
  machine hit all of them alike, with a progress bar; :func:`ratios_to`
  compares them round by round;
* :func:`peak_tensor_memory_mb` measures the peak of live tensor memory of
  one step from the tensors' storages (PyTorch's ``MemTracker``), on CPU and
  GPU alike -- the process RSS is too noisy to compare (glibc keeps freed
  blocks);
* :func:`call_times` adds up the host time spent in chosen functions
  during some steps (where a step's time goes; CPU, where calls are
  synchronous);
* :func:`machine` names the hardware for the figures' caption.
"""
import functools
import inspect
import statistics
import time
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Dict, Iterable, Iterator, List, Tuple

import torch
from tqdm import tqdm


def synchronize(device: str) -> None:
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()


def alternating_times(steps: Dict[str, Callable[[], object]],
                      rounds: int,
                      device: str = 'cpu',
                      warmup: int = 2,
                      desc: str = 'rounds') -> Dict[str, List[float]]:
    """Seconds per call of each step, measured in alternating rounds."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: Dict[str, List[float]] = {name: [] for name in steps}
    for _ in tqdm(range(rounds), desc=desc):
        for name, step in steps.items():
            synchronize(device)
            start = time.perf_counter()
            step()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def median(times: Iterable[float]) -> float:
    return statistics.median(list(times))


def ratios_to(times: Dict[str, List[float]],
              reference: str) -> Dict[str, Tuple[float, float]]:
    """Per contender of :func:`alternating_times`: ``(paired, best)``, the
    median over the rounds of the ratio to the same round's ``reference``
    step (adjacent in time: drifts of a shared machine cancel) and the ratio
    of the fastest rounds (the least disturbed by other tenants)."""
    base = times[reference]
    return {name: (median(a / b for a, b in zip(t, base)), min(t) / min(base))
            for name, t in times.items()}


def peak_tensor_memory_mb(step: Callable[[], object],
                          tracked: Iterable[object],
                          device: str = 'cpu') -> Dict[str, float]:
    """Peak live tensor memory of one ``step()``, MiB: total and activations.

    ``tracked``: the modules and optimizers whose parameters, gradients and
    states are counted as such (the rest is counted as activations and
    temporaries).  Run a warm-up step first so that gradients and
    optimizer states already exist.
    """
    from torch.distributed._tools.mem_tracker import MemTracker
    tracker = MemTracker()
    tracker.track_external(*tracked)
    with tracker:
        step()
    snapshot = tracker.get_tracker_snapshot('peak')
    kind = torch.device(device).type
    stats = next(v for d, v in snapshot.items() if torch.device(d).type == kind)
    peak = {str(k).split('.')[-1]: v / 2**20 for k, v in stats.items()}
    return {'total': peak['Total'], 'activations': peak.get('ACT', 0.0)}


@contextmanager
def call_times(targets: Dict[str, Tuple[object, str]]) -> Iterator[Counter]:
    """Inside the block, every call of ``getattr(owner, name)`` for the
    ``label: (owner, name)`` pairs adds its wall seconds to the yielded
    ``Counter[label]`` (a module's function, a class's method or
    staticmethod; inclusive: nested calls count in both).  The attributes
    are restored on exit.  Patch a function where it is looked up: in the
    namespace of the module that calls it."""
    totals: Counter = Counter()
    originals = []
    for label, (owner, name) in targets.items():
        raw = inspect.getattr_static(owner, name)
        function = raw.__func__ if isinstance(raw, staticmethod) else raw

        def timed(*args, _function=function, _label=label, **kwargs):
            start = time.perf_counter()
            try:
                return _function(*args, **kwargs)
            finally:
                totals[_label] += time.perf_counter() - start

        functools.update_wrapper(timed, function)
        originals.append((owner, name, raw))
        setattr(owner, name,
                staticmethod(timed) if isinstance(raw, staticmethod)
                else timed)
    try:
        yield totals
    finally:
        for owner, name, raw in reversed(originals):
            setattr(owner, name, raw)


def machine(device: str = 'cpu') -> str:
    """``'<CPU model>, N threads'`` or the GPU's name."""
    if torch.device(device).type == 'cuda':
        return torch.cuda.get_device_name()
    model = 'CPU'
    try:
        with open('/proc/cpuinfo') as f:
            model = next((line.split(':', 1)[1].strip() for line in f
                          if line.startswith('model name')), model)
    except OSError:
        pass
    return f'{model}, {torch.get_num_threads()} threads'


def gemm_rate(dtype: torch.dtype, device: str = 'cpu', size: int = 4096,
              repeats: int = 3) -> float:
    """The machine's matrix-multiply rate in FLOP/s: the best of ``repeats``
    ``size x size`` products (``2 * size**3`` FLOPs each) after one warm-up,
    the ceiling that a GEMM-bound model cannot pass."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def forward_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs of one forward on ``x``, counted by mmengine's ``FlopAnalyzer``
    (one multiply-add counts 1, as mmengine and the papers' tables count:
    multiply by 2 for the FLOPs a GEMM rate counts)."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(model, (x, ))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        return int(analyzer.total())
