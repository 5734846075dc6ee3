"""Balanced Sparsity (Yao et al., AAAI 2019) as an OpenMMLab plugin.

Registers ``visrep.BalancedSparsityHook`` (bank-balanced magnitude pruning of
any mm* model during training).  See README.md.
"""
from .hook import CHECKPOINT_KEY, BalancedSparsityHook, optimizers_of
from .mask import as_rows, balanced_mask, bank_nnz, pruned_per_bank
from .mask_keeper import MaskKeeper
from .report import format_table, layer_report, total_sparsity
from .schedule import SparsitySchedule
from .selection import PrunedLayer, select_layers

__all__ = ['BalancedSparsityHook', 'CHECKPOINT_KEY', 'MaskKeeper',
           'PrunedLayer', 'SparsitySchedule', 'as_rows', 'balanced_mask',
           'bank_nnz', 'format_table', 'layer_report', 'optimizers_of',
           'pruned_per_bank', 'select_layers', 'total_sparsity']
