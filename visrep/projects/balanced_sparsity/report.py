"""Per-layer sparsity report: the balance of every bank, checked."""
from typing import Dict, List, Optional

import torch
from torch import Tensor

from .mask import as_rows, bank_nnz


def _distinct(counts: Tensor) -> List[int]:
    """Sorted distinct values (min/max first: the common balanced case
    needs no sort)."""
    if counts.numel() == 0:
        return []
    low, high = int(counts.min()), int(counts.max())
    if low == high:
        return [low]
    return sorted(int(c) for c in torch.unique(counts))


def layer_report(name: str, keep: Tensor, bank_size: int,
                 weight: Optional[Tensor] = None) -> dict:
    """Shape, bank layout and kept entries per bank of one pruned layer.

    ``nnz_per_bank`` lists the distinct kept counts over all full banks of
    all rows: one value when the layer is balanced.  With ``weight``,
    ``nonzero_in_pruned`` counts pruned entries that are not zero (must be
    0) and ``weight_nnz_per_bank`` the distinct numbers of non-zero weights
    per bank (a kept weight may be exactly zero, so it can be lower).
    """
    rows = as_rows(keep)
    counts = bank_nnz(keep, bank_size)
    tail = rows.shape[1] % bank_size
    report = dict(
        layer=name,
        shape=list(keep.shape),
        matrix=[rows.shape[0], rows.shape[1]],
        bank_size=bank_size,
        banks_per_row=rows.shape[1] // bank_size,
        partial_bank=tail,
        nnz_per_bank=_distinct(counts),
        sparsity=1.0 - float(keep.sum()) / keep.numel(),
    )
    if tail:
        report['nnz_in_partial_bank'] = _distinct(rows[:, -tail:].sum(1))
    report['balanced'] = len(report['nnz_per_bank']) <= 1 and len(
        report.get('nnz_in_partial_bank', [0])) == 1
    if weight is not None:
        nonzero = as_rows(weight.detach()) != 0
        report['nonzero_in_pruned'] = int((nonzero & ~rows).sum())
        report['weight_nnz_per_bank'] = _distinct(
            bank_nnz(nonzero, bank_size))
    return report


def total_sparsity(masks: Dict[str, Tensor]) -> float:
    """Pruned fraction over all masked weights."""
    numel = sum(m.numel() for m in masks.values())
    kept = sum(int(m.sum()) for m in masks.values())
    return 1.0 - kept / numel if numel else 0.0


def format_table(reports: List[dict]) -> str:
    """Markdown table of :func:`layer_report` rows."""
    lines = ['| layer | matrix | bank size | banks/row | nnz/bank | '
             'sparsity | balanced |', '|---|---|---|---|---|---|---|']
    for r in reports:
        nnz = '/'.join(str(c) for c in r['nnz_per_bank'])
        if r['partial_bank']:
            nnz += (f" (+{r['partial_bank']}-wide bank: "
                    f"{'/'.join(str(c) for c in r['nnz_in_partial_bank'])})")
        lines.append(
            f"| {r['layer']} | {r['matrix'][0]}x{r['matrix'][1]} | "
            f"{r['bank_size']} | {r['banks_per_row']} | {nnz} | "
            f"{r['sparsity']:.4f} | {'yes' if r['balanced'] else 'NO'} |")
    return '\n'.join(lines)
