"""Parameter groups for no-weight-decay sets and layer-wise lr decay."""
from typing import List, Optional, Tuple

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from visrep.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerwiseOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor plus the official Swin/BEiT-style groups.

    Works in any toolkit (``constructor='visrep.LayerwiseOptimWrapperConstructor'``).
    Every submodule that defines ``no_weight_decay()`` (names relative to
    it) and/or ``get_layer_depth(name) -> (layer_id, num_layers)`` -- e.g.
    a backbone ``visrep.<Name>`` -- contributes:

    * weight decay 0 for the names it returns (e.g. 1-D parameters, biases,
      relative-position tables: the official ``set_weight_decay``);
    * lr multiplied by ``layer_decay_rate ** (num_layers - 1 - layer_id)``.

    Parameters outside such modules (necks, heads) count as the last layer
    (lr multiplier 1); with ``no_weight_decay_outside='flat'`` (default, as
    the official classification code treats the whole model) their 1-D
    parameters (biases, norms) get no weight decay either.  mmengine's own
    ``paramwise_cfg`` options (``custom_keys``, ``*_mult``) apply first.

    ``paramwise_cfg`` keys added: ``layer_decay_rate`` (float, 1.0 = off) and
    ``no_weight_decay_outside`` (``'flat'`` or ``'none'``).
    """

    def __init__(self, optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        self.layer_decay_rate = float(paramwise_cfg.pop('layer_decay_rate',
                                                        1.0))
        self.no_wd_outside = paramwise_cfg.pop('no_weight_decay_outside',
                                               'flat')
        if self.no_wd_outside not in ('flat', 'none'):
            raise ValueError(
                "paramwise_cfg.no_weight_decay_outside must be 'flat' or "
                f"'none', got {self.no_wd_outside!r}.")
        # mmengine skips add_params (our groups) when paramwise_cfg is empty
        super().__init__(optim_wrapper_cfg, paramwise_cfg or {'custom_keys': {}})

    @staticmethod
    def _outermost(model: nn.Module, attr: str) -> List[Tuple[str, nn.Module]]:
        """(prefix, module) of the outermost modules that define ``attr``."""
        found: List[Tuple[str, nn.Module]] = []
        for name, module in model.named_modules():
            prefix = f'{name}.' if name else ''
            if hasattr(module, attr) and not any(
                    prefix.startswith(p) for p, _ in found):
                found.append((prefix, module))
        return found

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', is_dcn_module=None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix:
            return  # a recursive call of the default constructor
        no_decay = {p + n for p, m in self._outermost(module, 'no_weight_decay')
                    for n in m.no_weight_decay()}
        covered = [p for p, _ in self._outermost(module, 'no_weight_decay')]
        depth = self._outermost(module, 'get_layer_depth')
        if self.layer_decay_rate != 1.0 and not depth:
            raise ValueError(
                'paramwise_cfg.layer_decay_rate needs a backbone that defines '
                f'get_layer_depth(); none in {type(module).__name__}.')
        last_layer = None
        if depth:
            num_layers = max(m.get_layer_depth('')[1] for _, m in depth)
            last_layer = (num_layers - 1, num_layers)
        decays = self.base_wd is not None and self.base_wd > 0
        named = {id(p): (n, p) for n, p in module.named_parameters()}
        for group in params:
            name, param = named[id(group['params'][0])]
            inside = any(name.startswith(p) for p in covered)
            if decays and (name in no_decay or (
                    not inside and self.no_wd_outside == 'flat'
                    and param.ndim <= 1)):
                group['weight_decay'] = 0.0
            if self.layer_decay_rate == 1.0:
                continue
            owner = next(((p, m) for p, m in depth if name.startswith(p)),
                         None)
            layer_id, num_layers = owner[1].get_layer_depth(
                name[len(owner[0]):]) if owner else last_layer
            scale = self.layer_decay_rate**(num_layers - 1 - layer_id)
            group['lr'] = group.get('lr', self.base_lr) * scale
        if self.layer_decay_rate != 1.0 and last_layer:
            print_log(
                f'layer-wise lr decay {self.layer_decay_rate} over '
                f'{last_layer[1]} layers', logger='current')
