"""Official MoBY checkpoints (microsoft Transformer-SSL) -> the visrep layout of MoBY.

Official ``{'model': ...}`` keys: ``encoder.*`` / ``encoder_k.*`` (Swin V1
in the official layout, no head), ``projector.*`` / ``projector_k.*`` /
``predictor.*`` (``MoBYMLP``: ``linear_hidden.{1: Linear, 2: BN}``,
``linear_out``), buffers ``queue1``, ``queue2``, ``queue_ptr``.
``visrep.MoBY``: ``backbone.*`` / ``target_backbone.*`` (Swin V1's visrep
layout, :mod:`visrep.checkpoint.layout`),
``neck.*`` / ``target_neck.*`` / ``head.predictor.*`` (same MLP names), the
queues, and ``momentum_step`` (the official code recomputes it from the
start epoch instead of saving it).
"""
from typing import Dict

from visrep.checkpoint import StateDict, sub_state_dict, swin_v1_from_official

#: official prefix -> ours, for the parts that only need renaming
RENAMES = {'projector.': 'neck.', 'projector_k.': 'target_neck.',
           'predictor.': 'head.predictor.'}
BUFFERS = ('queue1', 'queue2', 'queue_ptr')


def is_official_moby(state_dict: dict) -> bool:
    return 'queue1' in state_dict and any(
        k.startswith('encoder_k.') for k in state_dict)


def moby_from_official(state_dict: StateDict) -> Dict[str, StateDict]:
    """Split an official MoBY state dict into parts.

    ``backbone`` and ``target_backbone`` are the encoders' keys in the
    *official* Swin layout without prefix (a backbone's
    ``adapt_state_dict``, or :func:`convert_encoders`, converts them);
    ``heads`` holds the renamed MLPs and the queues.
    """
    heads = {}
    for old, new in RENAMES.items():
        heads.update({new + k: v for k, v in sub_state_dict(state_dict, old).items()})
    heads.update({k: state_dict[k] for k in BUFFERS if k in state_dict})
    return dict(backbone=sub_state_dict(state_dict, 'encoder.'),
                target_backbone=sub_state_dict(state_dict, 'encoder_k.'),
                heads=heads)


def convert_official_moby(state_dict: StateDict) -> StateDict:
    """The whole official state dict in our MoBY layout (Swin V1 encoders)."""
    parts = moby_from_official(state_dict)
    out = {}
    for name in ('backbone', 'target_backbone'):
        out.update({f'{name}.{k}': v for k, v in
                    swin_v1_from_official(parts[name]).items()})
    out.update(parts['heads'])
    return out
