#!/usr/bin/env python
"""The Swin V2 memory planner against measured training steps on CPU.

``visrep/projects/swin_v2/memory_plan.py`` plans a rank's memory on the
``meta`` device (``tools/analysis_tools/swinv2_memory.py`` prints it).  Here
a reduced SwinV2 classifier (mmpretrain's ``ImageClassifier``) really
trains on CPU (fp32, AdamW) and each component is measured, independently
of the planner's model, counter and device:

* parameters, gradients, AdamW states, buffers and caches: the storages
  the model and the optimizer hold after a step;
* the peak of a step: PyTorch's ``MemTracker`` (``benchmarks/_common.py``),
  with the model, the optimizer and the caches registered; activations =
  the peak minus the persistent state.

Cases: plain, ``with_cp``, ``attn_chunk_size``, both; then one block's
activation peak with and without ``attn_chunk_size`` (the factor
sequential attention saves).

    python benchmarks/swin_v2_memory_plan.py
"""
from typing import Dict, Optional

import torch

from _common import machine, peak_tensor_memory_mb

MIB = 2**20
#: a reduced SwinV2 where the attention matrices matter as at high
#: resolution (nH * N = 256 >> C = 16): stage 0 is 16x16 tokens in 8x8
#: windows, 4 per image
ARCH = dict(embed_dims=16, depths=(2, 2), num_heads=(4, 8))
IMG, WINDOW, BATCH, CLASSES = 64, 8, 4, 4
#: name -> (with_cp, attn_chunk_size)
CASES = {'plain': (False, None), 'with_cp': (True, None),
         'attn_chunk_size=2': (False, 2), 'both': (True, 2)}
#: one shifted block: 8 heads, 8x8 windows, a 32x32 map (16 windows)
BLOCK = dict(dim=8, num_heads=8, window_size=8, side=32, batch_size=1)
BLOCK_CHUNK = 2
COMPONENTS = ('parameters', 'gradients', 'optimizer', 'buffers',
              'activations')


def classifier_config(with_cp: bool, attn_chunk_size: Optional[int]) -> dict:
    """The reduced classifier as mmpretrain builds it (its own model code,
    not the planner's)."""
    return dict(
        type='ImageClassifier',
        backbone=dict(type='visrep.SwinTransformerV2', arch=ARCH,
                      img_size=IMG, window_size=WINDOW, drop_path_rate=0.0,
                      with_cp=with_cp, attn_chunk_size=attn_chunk_size),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=CLASSES,
                  in_channels=ARCH['embed_dims'] * 2**(len(ARCH['depths']) -
                                                       1),
                  loss=dict(type='CrossEntropyLoss')))


def measure_training_step(with_cp: bool,
                          attn_chunk_size: Optional[int]) -> Dict[str, int]:
    """Bytes of each component at the peak of a real fp32 AdamW step of
    the reduced mmpretrain classifier (forward, cross-entropy backward,
    step), after a first step (gradients kept:
    ``zero_grad(set_to_none=False)``)."""
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    from visrep.engine.activation_memory import storage_bytes
    from visrep.engine.training_memory import cached_tensors
    torch.manual_seed(0)
    model = MODELS.build(classifier_config(with_cp, attn_chunk_size)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(BATCH, 3, IMG, IMG)
    samples = [DataSample().set_gt_label(i % CLASSES) for i in range(BATCH)]

    def step():
        optimizer.zero_grad(set_to_none=False)
        model.loss(x, samples)['loss'].backward()
        optimizer.step()

    step()
    caches = cached_tensors(model)
    total = peak_tensor_memory_mb(step, [model, optimizer, *caches])
    params = list(model.parameters())
    measured = dict(
        parameters=storage_bytes(params),
        gradients=storage_bytes(p.grad for p in params),
        optimizer=storage_bytes(
            v for state in optimizer.state.values() for v in state.values()),
        buffers=storage_bytes(list(model.buffers()) + caches),
        total=round(total['total'] * MIB))
    measured['activations'] = measured['total'] - sum(
        measured[k] for k in COMPONENTS[:-1])
    return measured


def measure_block_activations(attn_chunk_size: Optional[int]) -> int:
    """Activation peak of one real shifted block's forward and backward:
    ``MemTracker``'s peak minus the block's parameters, gradients, buffers,
    caches and input (the input's gradient is made in the step)."""
    from visrep.engine.activation_memory import storage_bytes
    from visrep.engine.training_memory import cached_tensors
    from visrep.projects.swin_v2.block import SwinV2Block
    torch.manual_seed(0)
    window, side = BLOCK['window_size'], BLOCK['side']
    block = SwinV2Block(BLOCK['dim'], BLOCK['num_heads'], (window, window),
                        shift=True, attn_chunk_size=attn_chunk_size).train()
    x = torch.randn(BLOCK['batch_size'], side, side, BLOCK['dim'],
                    requires_grad=True)

    def step():
        x.grad = None
        block(x).backward(torch.ones_like(x))

    step()
    persistent = [*block.parameters(), *block.buffers(),
                  *cached_tensors(block), x]
    total = peak_tensor_memory_mb(step, [block, *cached_tensors(block), x])
    held = storage_bytes(persistent) + storage_bytes(
        p.grad for p in block.parameters())
    return round(total['total'] * MIB) - held


def planned(with_cp: bool, attn_chunk_size: Optional[int]) -> Dict[str, int]:
    """The planner's figures for the measured case (one process: no
    communication buffers)."""
    from visrep.projects.swin_v2.memory_plan import plan_memory
    plan = plan_memory(ARCH, IMG, window_size=WINDOW, batch_size=BATCH,
                       world_size=1, strategy='ddp', with_cp=with_cp,
                       attn_chunk_size=attn_chunk_size,
                       num_classes=CLASSES)
    figures = {k: getattr(plan, k) for k in COMPONENTS}
    figures['total'] = plan.total - plan.communication
    return figures


def planned_block_activations(attn_chunk_size: Optional[int]) -> int:
    from visrep.projects.swin_v2.memory_plan import block_activation_bytes
    return block_activation_bytes(attn_chunk_size=attn_chunk_size, **BLOCK)


def main() -> None:
    print(f'machine: {machine()}; torch {torch.__version__}')
    print(f'\nReduced SwinV2 classifier (C={ARCH["embed_dims"]}, depths '
          f'{ARCH["depths"]}, heads {ARCH["num_heads"]}), {IMG} px, window '
          f'{WINDOW}, batch {BATCH}, fp32 AdamW; KiB, planned / measured')
    print('| case | ' + ' | '.join(COMPONENTS) + ' | peak |')
    print('|---' * (len(COMPONENTS) + 2) + '|')
    for name, (with_cp, chunk) in CASES.items():
        plan, real = planned(with_cp, chunk), measure_training_step(
            with_cp, chunk)
        cells = [f'{plan[k] / 1024:,.1f} / {real[k] / 1024:,.1f} '
                 f'({plan[k] / real[k] - 1:+.1%})'
                 for k in COMPONENTS + ('total', )]
        print(f'| {name} | ' + ' | '.join(cells) + ' |')
    off, on = (measure_block_activations(c) for c in (None, BLOCK_CHUNK))
    p_off, p_on = (planned_block_activations(c) for c in (None, BLOCK_CHUNK))
    print(f'\nOne shifted block ({BLOCK}), activation peak, KiB: '
          f'measured off {off / 1024:,.1f}, attn_chunk_size={BLOCK_CHUNK} '
          f'{on / 1024:,.1f}: {off / on:.2f}x lower; planned '
          f'{p_off / 1024:,.1f} / {p_on / 1024:,.1f}: {p_off / p_on:.2f}x')


if __name__ == '__main__':
    main()
