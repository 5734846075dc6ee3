"""The SimMIM algorithm: mmpretrain's ``SimMIM`` reading official checkpoints."""
from mmpretrain.models.selfsup import SimMIM as MMPretrainSimMIM
from torch import nn

from visrep.checkpoint import ADAPTER, CheckpointMismatchError, unwrap
from visrep.registry import MODELS


def is_official_simmim(state_dict: dict) -> bool:
    """``encoder.*`` + ``decoder.0.*``: a microsoft/SimMIM pre-training file."""
    return 'decoder.0.weight' in state_dict and any(
        k.startswith('encoder.') for k in state_dict)


@MODELS.register_module()
class SimMIM(MMPretrainSimMIM):
    """SimMIM (``type='visrep.SimMIM'``): backbone(x, mask) -> decoder -> loss.

    mmpretrain's algorithm (``loss = head.loss(neck(backbone(x, mask)[0]),
    x, mask)``), which matches the official ``SimMIM.forward``; this class
    adds the reading of official pre-training checkpoints
    (``{'model': {'encoder.*', 'decoder.0.*'}}``) in ``load_from`` /
    ``--resume``-free continuation: the encoder goes through the backbone's
    converter, ``decoder.0`` becomes ``neck.decoder.0`` (mmpretrain's
    ``SimMIMLinearDecoder``: the same 1x1 conv + PixelShuffle).
    """

    def adapt_state_dict(self, state_dict: dict, prefix: str,
                         model: nn.Module) -> dict:
        inner = unwrap(state_dict)
        if not is_official_simmim(inner):
            return state_dict
        adapter = getattr(self.backbone, ADAPTER, None)
        if adapter is None:
            raise CheckpointMismatchError(
                f'{type(self.backbone).__name__} cannot read official SimMIM '
                'encoders: use a visrep.Masked* backbone.')
        encoder = {k[len('encoder.'):]: v for k, v in inner.items()
                   if k.startswith('encoder.')}
        out = dict(adapter(encoder, prefix + 'backbone.', model))
        if not any(k.startswith(prefix + 'backbone.') for k in out):
            raise CheckpointMismatchError(
                'the official SimMIM encoder was not recognised by '
                f'{type(self.backbone).__name__}.')
        out.update({prefix + 'neck.decoder.' + k[len('decoder.'):]: v
                    for k, v in inner.items() if k.startswith('decoder.')})
        return out
