"""Load mmseg ``DNLHead`` / ``DisentangledNonLocal2d`` weights into ours.

mmseg's block (``mmseg/models/decode_heads/dnl_head.py``) subclasses mmcv's
``NonLocal2d``: ``g``/``theta``/``phi``/``conv_out`` are ``ConvModule``\\ s
and the output norm lives in ``conv_out``.  Ours keeps the official names::

    g.conv.*        -> conv_value.*       theta.conv.* -> conv_query.*
    phi.conv.*      -> conv_key.*         conv_mask.*  -> conv_mask.*
    conv_out.conv.weight -> conv_out.weight
    conv_out.<norm>.*    -> out_norm.*

The rest of an mmseg ``DNLHead`` (``convs``, ``conv_cat``, ``conv_seg``)
already has our head's names.  Build ours with ``MMSEG_DNL_BLOCK`` switches
(``use_out=True``) and ``out_norm_cfg`` equal to the mmseg head's norm.
"""
from visrep.checkpoint import StateDict

_RENAMES = {'g.conv.': 'conv_value.', 'theta.conv.': 'conv_query.',
            'phi.conv.': 'conv_key.', 'conv_mask.': 'conv_mask.',
            'conv_out.conv.': 'conv_out.'}


def convert_mmseg_dnl(state_dict: StateDict,
                      block_prefix: str = 'dnl_block.') -> StateDict:
    """Rename the block keys under ``block_prefix`` (others pass through).

    Raises:
        KeyError: a key of the mmseg block with no counterpart in ours
            (e.g. ``conv_out.conv.bias``, which mmcv adds when the head has
            no ``norm_cfg``: ours, as the official code, has no bias there).
    """
    out = {}
    for key, value in state_dict.items():
        if not key.startswith(block_prefix):
            out[key] = value
            continue
        rest = key[len(block_prefix):]
        for old, new in _RENAMES.items():
            if rest.startswith(old):
                new_key = new + rest[len(old):]
                break
        else:
            if rest.startswith('conv_out.') and rest.count('.') == 2:
                new_key = 'out_norm.' + rest.split('.', 2)[2]  # the norm
            else:
                raise KeyError(f'{key}: no counterpart in visrep.DNLBlock')
        if new_key == 'conv_out.bias':
            raise KeyError(
                f'{key}: the official conv_out has no bias; the mmseg head '
                'was built without norm_cfg (its bias is zero-initialised; '
                'drop it if it is still zero).')
        out[block_prefix + new_key] = value
    return out
