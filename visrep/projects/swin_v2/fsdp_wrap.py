"""FSDP auto-wrap policy: one FSDP unit per Swin V2 block.

The paper trains SwinV2-G with its parameters sharded (section 3.4); with
FSDP that means gathering one block's parameters at a time.  A config hands
this policy to mmengine's ``FSDPStrategy`` by name (mmengine looks it up in
the ``FUNCTIONS`` registry)::

    strategy = dict(
        type='FSDPStrategy',
        model_wrapper=dict(
            auto_wrap_policy=dict(type='visrep.swin_v2_block_wrap_policy')))

Image and video (3-D) backbones use the same :class:`.block.SwinV2Block`;
the patch embedding, patch merging, norms and head stay in the root unit.
The stages call each block as a module (also under ``with_cp``), so its
FSDP wrapper gathers the parameters on every use.
"""
from torch import nn

from visrep.registry import FUNCTIONS
from .block import SwinV2Block


@FUNCTIONS.register_module()
def swin_v2_block_wrap_policy(module: nn.Module, recurse: bool,
                              nonwrapped_numel: int) -> bool:
    """torch FSDP's callable ``auto_wrap_policy``: descend into every module
    (``recurse``) and wrap each :class:`SwinV2Block` in its own unit."""
    del nonwrapped_numel  # the unit is the block, whatever its size
    return recurse or isinstance(module, SwinV2Block)
