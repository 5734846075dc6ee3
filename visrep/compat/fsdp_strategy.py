"""mmengine's ``FSDPStrategy``: CPU processes (gloo), clipping and resuming.

Five changes to mmengine 0.10.7's strategy; the wrapping, optimizer
sharding and the rest of the state-dict handling run unchanged.

Without CUDA (torch's FSDP trains CPU modules over gloo; launch is
:mod:`.distributed`'s):

* ``_wrap_model`` hands FSDP ``device_id=int(LOCAL_RANK)``, which torch reads
  as ``cuda:<int>`` and moves every parameter there.  The default becomes
  ``torch.device('cpu')`` (a ``device_id`` in ``strategy.model_wrapper``
  still wins).
* ``state_dict_cfg='full'`` asks for ``offload_to_cpu=True``.  On a CPU
  module the "offloaded" copy is the unsharded parameter itself, which FSDP
  frees on leaving its gather, so saving a checkpoint reads freed memory
  (a segmentation fault).  The state dicts are already on the CPU: the
  offload is switched off, for the model and the optimizer.

On any device:

* ``optim_wrapper.clip_grad=dict(max_norm=...)`` runs
  ``torch.nn.utils.clip_grad_norm_`` on each rank's gradient *shards*, so
  each rank scales by the norm of its own shard, not of the gradient: the
  update differs from unsharded training.  The wrapper now clips through
  the root's ``FullyShardedDataParallel.clip_grad_norm_``, which reduces the
  norm over the ranks.
* the optimizer was built on the wrapped model, whose parameters (with
  ``use_orig_params=True``, mmengine's default) are 1-D views of each rank's
  shard.  Constructors that decide by shape -- ``paramwise_cfg``'s
  ``norm_decay_mult``/``flat_decay_mult``, the layer-wise constructors that
  exempt 1-D parameters from weight decay -- then took every weight for a
  bias: with 2 ranks no parameter of a Swin V2 had weight decay.  A config
  ``optim_wrapper`` is now built on the model before wrapping, where the
  shapes are the real ones, and its parameter groups are moved by name to
  the wrapped model's parameters.
* resuming (``--resume``) calls ``FSDP.optim_state_dict_to_load`` with the
  arguments of torch 2.0, ``(state_dict, model, optimizer)``; since torch
  2.1 it is ``(model, optimizer, state_dict)``, and the old order fails
  (``unhashable type: 'dict'``).  The optimizer state is loaded with the
  current order.
"""
import functools
from typing import Iterator

import torch
from torch.distributed.fsdp import FullyShardedDataParallel

#: the wrapper ``FSDPStrategy`` builds when ``model_wrapper`` is not set
_DEFAULT_WRAPPER = 'MMFullyShardedDataParallel'
#: what ``FullyShardedDataParallel.clip_grad_norm_`` takes
_FSDP_CLIP_ARGS = ('max_norm', 'norm_type')


def with_cpu_device_id(model_wrapper) -> dict:
    """``model_wrapper`` (None: mmengine's default) with the CPU as default
    ``device_id``."""
    wrapper = dict(model_wrapper or dict(type=_DEFAULT_WRAPPER))
    wrapper.setdefault('device_id', torch.device('cpu'))
    return wrapper


def _cpu_wrap_model(wrap_model):

    @functools.wraps(wrap_model)
    def patched(self, model):
        if not torch.cuda.is_available():
            self.model_wrapper = with_cpu_device_id(self.model_wrapper)
        return wrap_model(self, model)

    return patched


def _no_offload_on_cpu(init_state_dict_cfg):

    @functools.wraps(init_state_dict_cfg)
    def patched(self, state_dict_cfg):
        init_state_dict_cfg(self, state_dict_cfg)
        if torch.cuda.is_available():
            return
        for config in (self.state_dict_config, self.optim_state_dict_config):
            if getattr(config, 'offload_to_cpu', False):
                config.offload_to_cpu = False

    return patched


def _optim_wrappers(built) -> Iterator:
    """The single wrappers of an ``OptimWrapper`` or ``OptimWrapperDict``."""
    from mmengine.optim import OptimWrapperDict
    if isinstance(built, OptimWrapperDict):
        yield from built.values()
    else:
        yield built


def _clip_sharded(model: FullyShardedDataParallel, params, max_norm: float,
                  norm_type: float = 2.0) -> torch.Tensor:
    """``clip_grad_norm_`` with the norm of the whole (sharded) gradient;
    ``params`` are the root's, which FSDP clips together."""
    return model.clip_grad_norm_(max_norm, norm_type)


def clip_by_global_norm(built, model) -> None:
    """Point the norm clipping of ``built`` (an optim wrapper) at ``model``'s
    FSDP clipping, when ``model`` is an FSDP root."""
    if not isinstance(model, FullyShardedDataParallel):
        return
    for wrapper in _optim_wrappers(built):
        if getattr(wrapper, 'clip_func', None) is not \
                torch.nn.utils.clip_grad_norm_:
            continue
        extra = sorted(set(wrapper.clip_grad_kwargs) - set(_FSDP_CLIP_ARGS))
        if extra:
            raise ValueError(
                f'optim_wrapper.clip_grad has {extra}: under FSDPStrategy the '
                'gradient norm is clipped by FullyShardedDataParallel.'
                f'clip_grad_norm_, which takes only {list(_FSDP_CLIP_ARGS)}; '
                'remove the others.')
        wrapper.clip_func = functools.partial(_clip_sharded, model)


def _global_norm_clipping(build_optim_wrapper):

    @functools.wraps(build_optim_wrapper)
    def patched(self, optim_wrapper, model=None):
        prebuilt = getattr(self, '_visrep_prebuilt', None)
        if prebuilt is not None and prebuilt[0] is optim_wrapper:
            _, built, group_names = prebuilt
            move_groups_to(built, group_names, model)
        else:
            built = build_optim_wrapper(self, optim_wrapper, model)
        clip_by_global_norm(built, model)
        return built

    return patched


_WRAPPED_NAME_PARTS = ('_fsdp_wrapped_module.', '_checkpoint_wrapped_module.')


def _plain_name(name: str) -> str:
    for part in _WRAPPED_NAME_PARTS:
        name = name.replace(part, '')
    return name


def _needs_constructor(optim_wrapper) -> bool:
    """A config ``optim_wrapper`` that mmengine builds with a constructor
    (not a built wrapper, optimizer or a dict of built wrappers)."""
    from torch.optim import Optimizer
    if not isinstance(optim_wrapper, dict):
        return False
    optimizer = optim_wrapper.get('optimizer')
    if isinstance(optimizer, Optimizer):
        return False
    return optimizer is not None or 'constructor' in optim_wrapper


def build_before_wrapping(optim_wrapper: dict, model: torch.nn.Module):
    """``optim_wrapper`` (a config) built on the unwrapped ``model``, with
    the defaults mmengine's ``FSDPStrategy`` adds to it, and the names of
    each group's parameters."""
    import copy

    from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
    cfg = copy.deepcopy(optim_wrapper)
    cfg.setdefault('type', 'OptimWrapper')
    if cfg['type'] in ('AmpOptimWrapper', AmpOptimWrapper):
        cfg.setdefault('use_fsdp', True)
    built = build_optim_wrapper(model, cfg)
    names = {id(p): name for name, p in model.named_parameters()}
    group_names = [[names[id(p)] for p in group['params']]
                   for wrapper in _optim_wrappers(built)
                   for group in wrapper.optimizer.param_groups]
    return built, group_names


def move_groups_to(built, group_names, model: torch.nn.Module) -> None:
    """Point each group of ``built``'s optimizers (no state yet) at the
    wrapped ``model``'s parameters of the same names; every group option
    stays."""
    params = {_plain_name(name): p for name, p in model.named_parameters()}
    names = iter(group_names)
    for wrapper in _optim_wrappers(built):
        optimizer = wrapper.optimizer
        if optimizer.state:
            raise RuntimeError('FSDPStrategy: the optimizer stepped before '
                               'the model was wrapped')
        for group in optimizer.param_groups:
            wanted = next(names)
            missing = [n for n in wanted if n not in params]
            if missing:
                raise RuntimeError(
                    f'FSDPStrategy: the wrapped model has no parameter '
                    f'{missing[0]!r} to optimize (of {len(missing)} missing); '
                    'set strategy.model_wrapper.use_orig_params=True '
                    '(mmengine\'s default) so that FSDP keeps the original '
                    'parameter names.')
            group['params'] = [params[n] for n in wanted]


def _optimizer_before_wrapping(prepare):

    @functools.wraps(prepare)
    def patched(self, model, *, optim_wrapper=None, **kwargs):
        self._visrep_optim_cfg = optim_wrapper
        self._visrep_prebuilt = None
        try:
            return prepare(self, model, optim_wrapper=optim_wrapper, **kwargs)
        finally:
            self._visrep_optim_cfg = self._visrep_prebuilt = None

    return patched


def _build_on_unwrapped(wrap_model):

    @functools.wraps(wrap_model)
    def patched(self, model):
        cfg = getattr(self, '_visrep_optim_cfg', None)
        if _needs_constructor(cfg):
            self._visrep_prebuilt = (cfg, *build_before_wrapping(cfg, model))
        return wrap_model(self, model)

    return patched


def load_optim_state_dict(self, state_dict: dict) -> None:
    """``FSDPStrategy.load_optim_state_dict`` with torch>=2.1's argument
    order."""
    optim_state_dict = FullyShardedDataParallel.optim_state_dict_to_load(
        self.model, self.optim_wrapper.optimizer, state_dict)
    self.optim_wrapper.load_state_dict(optim_state_dict)


def install() -> None:
    try:
        from mmengine._strategy.fsdp import FSDPStrategy
    except ImportError:  # mmengine leaves it out where torch lacks FSDP
        return
    if FSDPStrategy.__dict__.get('__visrep_patched__', False):
        return
    FSDPStrategy.prepare = _optimizer_before_wrapping(FSDPStrategy.prepare)
    FSDPStrategy._wrap_model = _build_on_unwrapped(
        _cpu_wrap_model(FSDPStrategy._wrap_model))
    FSDPStrategy._init_state_dict_cfg = _no_offload_on_cpu(
        FSDPStrategy._init_state_dict_cfg)
    FSDPStrategy.build_optim_wrapper = _global_norm_clipping(
        FSDPStrategy.build_optim_wrapper)
    FSDPStrategy.load_optim_state_dict = load_optim_state_dict
    FSDPStrategy.__visrep_patched__ = True
