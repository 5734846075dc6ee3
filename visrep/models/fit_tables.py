"""Backbone keys made to fit a model whose windows differ from the checkpoint's."""
import torch
from mmengine.logging import print_log

from visrep.checkpoint import (DERIVED, SSL_ONLY, CheckpointMismatchError,
                               StateDict)
from .relpos import resize_table, table_side


def fit_tables(own: StateDict, state_dict: StateDict,
               num_extra_tokens: int = 0) -> StateDict:
    """Fit visrep-layout keys ``state_dict`` to a model's ``own`` keys.

    Relative-position tables are resized to ``own``'s (geometric
    progression, :func:`.relpos.resize_table`); derived buffers and
    missing/extra SSL-only parameters are taken from ``own``.  Returns
    ``state_dict`` itself when nothing changes (a resumed checkpoint stays
    exact).
    """
    out = dict(state_dict)
    changed = False
    for key, value in state_dict.items():
        if key.endswith('relative_position_bias_table') and key in own \
                and value.shape != own[key].shape:
            if value.shape[1] != own[key].shape[1]:
                raise CheckpointMismatchError(
                    f'{key}: {value.shape[1]} heads in the checkpoint, '
                    f'{own[key].shape[1]} in the model.')
            out[key] = resize_table(
                value, table_side(value.shape[0], num_extra_tokens),
                table_side(own[key].shape[0], num_extra_tokens),
                num_extra_tokens)
            print_log(f'{key}: relative position bias resized '
                      f'{tuple(value.shape)} -> {tuple(out[key].shape)} '
                      '(geometric-progression bicubic)', logger='current')
            changed = True
        elif key.rsplit('.', 1)[-1] in DERIVED and (
                key not in own or value.shape != own[key].shape
                or not torch.equal(value, own[key])):
            if key in own:
                out[key] = own[key]
            else:
                del out[key]
            changed = True
        elif key in SSL_ONLY and key not in own:
            del out[key]
            print_log(f'{key} (pre-training only) dropped', logger='current')
            changed = True
    for key, value in own.items():
        name = key.rsplit('.', 1)[-1]
        if key not in out and (name in DERIVED or key in SSL_ONLY):
            out[key] = value  # rebuilt / left at its initial value
            changed = True
    return out if changed else state_dict
