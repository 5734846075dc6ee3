"""N:M-pruned Linear layers as PyTorch semi-structured sparse tensors.

``torch.sparse.to_sparse_semi_structured`` stores a 2-D weight with at most
2 non-zeros in every 4 consecutive row elements (the 2:4 pattern of NVIDIA
sparse tensor cores; 1:4 fits too) and multiplies it with cuSPARSELt or
CUTLASS kernels.  It needs a CUDA GPU of compute capability >= 8.0, a
supported dtype (float16/bfloat16/int8; float32 on CUTLASS) and a weight of
at least, and a multiple of, the backend's minimum rows x columns.  Banks of
4 along the rows of a Linear weight ``[out, in]`` are exactly these groups,
so ``BalancedSparsityHook(n_m=(2, 4))`` produces convertible layers.
"""
from typing import Dict, List

import torch
from torch import nn


def semi_structured_backend():
    """The tensor subclass ``to_sparse_semi_structured`` would build."""
    sparse = torch.sparse
    if sparse.SparseSemiStructuredTensor._FORCE_CUTLASS:
        return sparse.SparseSemiStructuredTensorCUTLASS
    return sparse.SparseSemiStructuredTensorCUSPARSELT


def max_nonzeros_per_group(weight: torch.Tensor, group: int = 4) -> int:
    """Most non-zeros in any ``group`` consecutive row elements."""
    rows = weight.detach().reshape(weight.shape[0], -1)
    if rows.shape[1] % group:
        return group  # not groupable at all
    return int((rows != 0).reshape(rows.shape[0], -1, group).sum(-1).max())


def weight_problems(weight: torch.Tensor, dtype: torch.dtype) -> List[str]:
    """Why this 2-D weight cannot become semi-structured in ``dtype``
    (empty list: it can)."""
    if weight.dim() != 2:
        return [f'a {weight.dim()}-d weight (only 2-D Linear weights are '
                'supported)']
    problems = []
    rows, cols = weight.shape
    if cols % 4:
        problems.append(f'{cols} input features are not a multiple of 4')
    else:
        most = max_nonzeros_per_group(weight)
        if most > 2:
            problems.append(f'not 2:4 sparse (a group of 4 consecutive '
                            f'inputs holds {most} non-zeros); prune with '
                            'n_m=(2, 4)')
    backend = semi_structured_backend()
    limits = backend._DTYPE_SHAPE_CONSTRAINTS.get(dtype)
    if limits is None:
        supported = sorted(str(d) for d in backend._DTYPE_SHAPE_CONSTRAINTS)
        problems.append(f'{backend.BACKEND} does not support {dtype}; use '
                        f'one of {supported}')
    else:
        min_rows, min_cols = limits.sparse_min_rows, limits.sparse_min_cols
        if rows % min_rows or cols % min_cols:
            problems.append(f'shape {rows}x{cols} is not a multiple of the '
                            f'{backend.BACKEND} minimum {min_rows}x{min_cols} '
                            f'for {dtype}')
    return problems


def layer_problems(module: nn.Module, dtype: torch.dtype) -> List[str]:
    """:func:`weight_problems` of a module, which must be a Linear."""
    if not isinstance(module, nn.Linear):
        return [f'{type(module).__name__} is not a Linear layer']
    return weight_problems(module.weight, dtype)


def cuda_problem() -> str:
    """Why this machine cannot run semi-structured kernels ('' if it can)."""
    if not torch.cuda.is_available():
        return ('semi-structured sparse tensors need a CUDA GPU (compute '
                'capability >= 8.0); this machine has no CUDA device')
    major, minor = torch.cuda.get_device_capability()
    if major < 8:
        return (f'semi-structured sparse tensors need compute capability '
                f'>= 8.0; this GPU has {major}.{minor}')
    return ''


def check_model(model: nn.Module, dtype: torch.dtype) -> Dict[str, List[str]]:
    """Problems of every Linear layer of the model, by name."""
    return {name: layer_problems(m, dtype) for name, m in model.named_modules()
            if isinstance(m, nn.Linear)}


def to_semi_structured(model: nn.Module, names: List[str]) -> None:
    """Replace the weights of the named Linear layers (already on the GPU,
    in the target dtype) by semi-structured sparse tensors, in place."""
    problem = cuda_problem()
    if problem:
        raise RuntimeError(problem + '.')
    modules = dict(model.named_modules())
    for name in names:
        module = modules[name]
        if module.weight.device.type != 'cuda':
            raise RuntimeError(f'{name}: move the model to the GPU first.')
        module.weight = nn.Parameter(
            torch.sparse.to_sparse_semi_structured(module.weight.detach()),
            requires_grad=False)
