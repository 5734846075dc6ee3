#!/usr/bin/env python
"""SwinV2-T (256 px, window 8): ours vs timm vs mmpretrain, side by side.

Train-step (forward, cross-entropy, backward, SGD step) and inference
throughput in images/s, all three models in the same process, measured in
alternating rounds (ours, timm, mmpretrain, ours, ...) so that drifts of the
machine hit all of them alike; the median round counts.  Peak memory is the
peak of live tensor memory during a warm train step -- parameters, SGD
momentum, gradients, activations and temporaries -- as PyTorch's
``MemTracker`` (``torch.distributed._tools.mem_tracker``) counts it from the
tensors' storages, on CPU and GPU alike (the process RSS is too noisy to
compare: glibc keeps freed blocks); not measured with ``--compile``.
Precision is the same for all (fp32, or bf16 autocast).

The GEMM bound: the same run measures the machine's matrix-multiply rate
(fp32 and bf16, 4096² ``torch.mm``) and counts each model's forward with
mmengine's ``FlopAnalyzer`` (multiply-adds; 2 FLOPs each).  A GEMM-bound
model would infer ``rate / (2 * MACs)`` images/s and train at a third of
that (backward ≈ 2 forwards); ``of bound`` is the measured throughput over
that rate.  ``--compile`` compiles all three models (inductor) alike.

    python benchmarks/swin_v2_speed.py [--batch 8] [--precision fp32|bf16]
        [--rounds 5] [--compile] [--device cpu|cuda] [--profile] [--sdpa]

``--profile`` adds, per model, where a warm train step and a warm
inference step spend their time (self time of PyTorch's operators and,
with ``--compile``, of inductor's fused kernels, grouped by kind).  All
three models use the official SwinV2-T drop-path rate 0.2 (their defaults
differ: 0.2, 0.0 in timm, 0.1 in mmpretrain).
"""
import argparse
import re

import torch
from torch import nn
from tqdm import tqdm

from _common import (alternating_times, forward_flops, gemm_rate, machine,
                     median, peak_tensor_memory_mb)

PEERS = ('ours', 'timm', 'mmpretrain')
#: stochastic depth of SwinV2-T in the official recipe, for all three
DROP_PATH = 0.2

#: operator kinds of the profile: (kind, regular expression on the names of
#: PyTorch's operators and, compiled, of inductor's fused kernels; the
#: first match counts)
OP_KINDS = (
    ('matmul (linear, attention)', r'aten::(mm|addmm|bmm|baddbmm|_mkldnn)'),
    ('layer norm', r'(aten::native_layer_norm|graph_.*layer_norm)'),
    ('GELU', r'(aten::gelu|graph_.*gelu)'),
    ('softmax', r'(aten::_softmax|graph_.*softmax)'),
    ('data movement (copy, cat, gather, pad)',
     r'aten::(copy_|cat|index|gather|scatter|constant_pad|clone|roll|'
     r'_unsafe_view|contiguous|masked_fill|fill_|zero_)'),
    ('other element-wise and reductions', r'(aten::|graph_\d+_cpp_fused)'),
    ('compiled-graph wrapper (Python)',
     r'(## Call CompiledFxGraph|TorchDynamo|CompiledFunction)'),
)


class _Classifier(nn.Module):
    """Backbone + global average pooling + linear head (as timm's model)."""

    def __init__(self, backbone: nn.Module, dim: int = 768):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(dim, 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1].mean((2, 3)))


def build(name: str) -> nn.Module:
    if name == 'ours-sdpa':  # our fast path forced through SDPA on CPU too
        model = build('ours')
        for module in model.modules():
            if hasattr(module, 'use_sdpa'):
                module.use_sdpa = True
        return model
    if name == 'ours':
        import visrep  # noqa: F401
        from visrep.projects.swin_v2 import SwinTransformerV2
        return _Classifier(SwinTransformerV2('tiny', window_size=8,
                                             drop_path_rate=DROP_PATH))
    if name == 'timm':
        import timm
        return timm.create_model('swinv2_tiny_window8_256', num_classes=1000,
                                 drop_path_rate=DROP_PATH)
    if name == 'mmpretrain':
        from mmpretrain.models.backbones import SwinTransformerV2
        return _Classifier(SwinTransformerV2('tiny', img_size=256,
                                             window_size=8,
                                             drop_path_rate=DROP_PATH))
    raise ValueError(name)


class Runner:
    """One model's train step and inference step."""

    def __init__(self, name, args):
        self.model = build(name).to(args.device)
        if args.compile:
            self.model = torch.compile(self.model)
        self.optim = torch.optim.SGD(self.model.parameters(), lr=0.01,
                                     momentum=0.9)
        self.dtype = torch.bfloat16 if args.precision == 'bf16' else None
        self.device = args.device
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(args.batch, 3, 256, 256,
                             generator=generator).to(args.device)
        self.y = torch.randint(0, 1000, (args.batch, ),
                               generator=generator).to(args.device)

    def _autocast(self):
        return torch.autocast(self.device, dtype=self.dtype,
                              enabled=self.dtype is not None)

    def train_step(self):
        self.model.train()
        self.optim.zero_grad(set_to_none=True)
        with self._autocast():
            loss = nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.optim.step()

    def infer_step(self):
        self.model.eval()
        with torch.no_grad(), self._autocast():
            self.model(self.x)


def throughput(args) -> dict:
    runners = {name: Runner(name, args) for name in args.peers}
    results = {}
    for mode in ('train', 'infer'):
        times = alternating_times(
            {name: getattr(r, f'{mode}_step') for name, r in runners.items()},
            args.rounds, args.device, desc=f'{mode} rounds')
        results[mode] = {name: args.batch / median(t)
                         for name, t in times.items()}
    return results


def gemm_bound(args) -> dict:
    """Per model: GEMM-bound inference and train rates, img/s, at the
    run's precision; and the machine's rates, FLOP/s."""
    rates = {'fp32': gemm_rate(torch.float32, args.device),
             'bf16': gemm_rate(torch.bfloat16, args.device)}
    bounds = {}
    for name in args.peers:
        model = build(name.replace('-sdpa', '')).eval().to(args.device)
        x = torch.randn(1, 3, 256, 256, device=args.device)
        macs = forward_flops(model, x)
        infer = rates[args.precision] / (2 * macs)
        bounds[name] = {'macs': macs, 'infer': infer, 'train': infer / 3}
    return {'rates': rates, 'models': bounds}


def peak_memory_mb(name: str, args) -> dict:
    """Peak live tensor memory of a warm train step, MiB."""
    if args.compile:
        return {'total': float('nan'), 'activations': float('nan')}
    runner = Runner(name, args)
    runner.train_step()  # warm: gradients and momentum exist
    return peak_tensor_memory_mb(runner.train_step,
                                 (runner.model, runner.optim), args.device)


def profile(name: str, args, mode: str) -> dict:
    """Self time of a warm ``mode`` step ('train' or 'infer') per operator
    kind, ms (compiled: inductor's kernels by the ops fused in them)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    runner = Runner(name, args)
    step = getattr(runner, f'{mode}_step')
    for _ in range(2):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    kinds = {kind: 0.0 for kind, _ in OP_KINDS}
    for event in prof.key_averages():
        for kind, pattern in OP_KINDS:
            if re.match(pattern, event.key):
                kinds[kind] += event.self_cpu_time_total / 1000
                break
    return kinds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--precision', choices=['fp32', 'bf16'],
                        default='fp32')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile every model')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--sdpa', action='store_true',
                        help="add 'ours-sdpa': our fast path through "
                        'F.scaled_dot_product_attention on CPU too')
    parser.add_argument('--profile', action='store_true',
                        help='also print where a train and an inference '
                        'step spend their time')
    args = parser.parse_args()
    args.peers = PEERS + (('ours-sdpa', ) if args.sdpa else ())
    if args.compile and args.profile:
        # name inductor's kernels in the profile (set before any model is
        # compiled: cached kernels keep the setting they were built with)
        import torch._inductor.config as inductor_config
        inductor_config.cpp.enable_kernel_profile = True
    torch.manual_seed(0)
    print(f'# {machine(args.device)}, torch {torch.__version__}, batch '
          f'{args.batch}, {args.precision}'
          f'{", torch.compile" if args.compile else ""}')
    bound = gemm_bound(args)
    print(f'# GEMM rate (4096² mm): fp32 '
          f'{bound["rates"]["fp32"] / 1e9:.0f} GFLOP/s, bf16 '
          f'{bound["rates"]["bf16"] / 1e9:.0f} GFLOP/s; forward '
          + ', '.join(f'{name} {b["macs"] / 1e9:.2f} GMAC/img'
                      for name, b in bound['models'].items()))
    results = throughput(args)
    memory = {name: peak_memory_mb(name, args) for name in args.peers}
    print(f'{"":12s} {"train img/s":>12s} {"of bound":>9s} '
          f'{"infer img/s":>12s} {"of bound":>9s} '
          f'{"peak MiB":>9s} {"of it act.":>10s}')
    for name in args.peers:
        limit = bound['models'][name]
        print(f'{name:12s} {results["train"][name]:12.2f} '
              f'{results["train"][name] / limit["train"]:9.0%} '
              f'{results["infer"][name]:12.2f} '
              f'{results["infer"][name] / limit["infer"]:9.0%} '
              f'{memory[name]["total"]:9.0f} '
              f'{memory[name]["activations"]:10.0f}')
    for peer in args.peers[1:]:
        train = results['train']['ours'] / results['train'][peer]
        infer = results['infer']['ours'] / results['infer'][peer]
        mem = memory['ours']['total'] / memory[peer]['total']
        print(f'ours / {peer}: train {train:.2f}x, infer {infer:.2f}x, '
              f'peak memory {mem:.2f}x')
    if args.profile:
        for mode in ('train', 'infer'):
            table = {name: profile(name, args, mode)
                     for name in tqdm(args.peers, desc=f'profile {mode}')}
            print(f'\n{mode} step, self time by operator kind (ms)')
            print(f'{"":40s}' + ''.join(f'{name:>12s}' for name in args.peers))
            for kind, _ in OP_KINDS:
                print(f'{kind:40s}' + ''.join(f'{table[n][kind]:12.0f}'
                                              for n in args.peers))
            print(f'{"total":40s}' + ''.join(
                f'{sum(table[n].values()):12.0f}' for n in args.peers))

if __name__ == '__main__':
    main()
