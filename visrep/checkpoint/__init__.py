"""Reading checkpoints: shared by every plugin that loads foreign weights.

* :mod:`.state_dict` -- :data:`StateDict`, :func:`unwrap` (``{'model': ...}``
  / ``{'state_dict': ...}``), sub-dicts, key lists for messages;
* :mod:`.layout` -- what the *visrep layout* is per backbone family, and
  helpers to read a layout (last stage, head prefix, backbone search);
* :mod:`.key_check` -- the key-by-key check and
  :class:`CheckpointMismatchError`;
* :mod:`.adapters` -- the ``adapt_state_dict`` protocol;
* :mod:`.backbone_adapter` -- that protocol for a backbone with one official
  and one visrep layout (Swin V1, SimMIM's ViT);
* :mod:`.patch_merging`, :mod:`.official_names`, :mod:`.swin_v1` -- key and
  channel-order conversions shared by the Swin families;
* :mod:`.load_check` -- the runner's checkpoint checked against the model
  (missing keys, too few matched) before it loads;
* :mod:`.fields` -- the checkpoint files a config reads, pre-checked by the
  tools; :mod:`.last_checkpoint` -- auto-resume's record, relative to the
  work dir; :mod:`.resume_state` -- the seed ``--resume`` restores;
  :mod:`.atomic_write` -- files that are never half-written.

Plugins keep only their own rename tables and layout-specific conversions.
"""
from .adapters import ADAPTER, CONVERTER, adapt_state_dict
from .backbone_adapter import adapt_backbone_state_dict
from .key_check import CheckpointMismatchError, check_keys
from .layout import (BACKBONE_PREFIXES, DERIVED, SSL_ONLY, VISREP_LAYOUT,
                     find_backbone, head_prefix, last_stage)
from .official_names import rename_official_keys
from .patch_merging import (official_to_unfold_reduction,
                            unfold_to_official_reduction)
from .state_dict import StateDict, describe_keys, sub_state_dict, unwrap
from .swin_v1 import SWIN_V1_OFFICIAL, SWIN_V1_VISREP, swin_v1_from_official

__all__ = [
    'ADAPTER', 'BACKBONE_PREFIXES', 'CONVERTER', 'CheckpointMismatchError',
    'DERIVED', 'SSL_ONLY', 'SWIN_V1_OFFICIAL', 'SWIN_V1_VISREP', 'StateDict',
    'VISREP_LAYOUT', 'adapt_backbone_state_dict', 'adapt_state_dict',
    'check_keys', 'describe_keys', 'find_backbone', 'head_prefix',
    'last_stage', 'official_to_unfold_reduction', 'rename_official_keys',
    'sub_state_dict', 'swin_v1_from_official', 'unfold_to_official_reduction',
    'unwrap'
]
