"""mmengine's ``FSDPStrategy``: CPU processes (gloo), clipping and resuming.

Four changes to mmengine 0.10.7's strategy; the wrapping, optimizer
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
        built = build_optim_wrapper(self, optim_wrapper, model)
        clip_by_global_norm(built, model)
        return built

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
    FSDPStrategy._wrap_model = _cpu_wrap_model(FSDPStrategy._wrap_model)
    FSDPStrategy._init_state_dict_cfg = _no_offload_on_cpu(
        FSDPStrategy._init_state_dict_cfg)
    FSDPStrategy.build_optim_wrapper = _global_norm_clipping(
        FSDPStrategy.build_optim_wrapper)
    FSDPStrategy.load_optim_state_dict = load_optim_state_dict
    FSDPStrategy.__visrep_patched__ = True
