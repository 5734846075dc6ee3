"""Cross-Iteration Batch Normalization (Yao et al., CVPR 2021) as a norm layer.

``norm_cfg=dict(type='visrep.CBN', buffer_num=3, burnin=8)`` in any mm*
model.  In training, the statistics of the current batch are averaged with
those of the last ``buffer_num`` iterations (window ``k = buffer_num + 1``),
each compensated to the current weight of the convolution that produces the
layer's input (:mod:`.window`).  That convolution is found from the input
itself (:mod:`.conv_call`) and its statistic gradients are computed in
closed form (:mod:`.moment_grads`).  In eval mode it is BatchNorm with the
running statistics, which are updated from the current batch only.

Defaults make it ``torch.nn.BatchNorm`` where no window is used (``buffer_num
=0``, burn-in, frozen input): the same kernel, bit for bit.  The official
code's numerics are switches (see README: "official code" column).

This file is the algorithm, step by step; the routes that only make it
faster live in :mod:`.fast` and are called where marked "fast route".
"""
from typing import List, Optional, Union

import torch
from torch import Tensor
from torch.nn import init
from torch.nn.modules.batchnorm import _BatchNorm

from visrep.registry import MODELS
from .binding import TRACKER, CBNBindingError, layer_name
from .conv_call import ConvCall, find_conv_call
from .fast import conv_pair
from .fast.cuda_graph import GraphedSteps
from .fast.step_buffers import StepBuffers, reuse_or_new
from .moment_grads import mean_gradient, square_gradient_sum
from .pooled_norm import NormWithStats, batch_moments, coefficients, pool
from .precision import cast, ieee_fp32, stat_dtype
from .state import load_cbn_state, save_cbn_state
from .window import StatWindow

BURNIN_UNITS = ('iter', 'epoch')
NEGATIVE_VAR_RULES = ('drop', 'max')
PLAIN_VARS = ('biased', 'unbiased')
AFFINE_INITS = ('ones', 'uniform')


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f'visrep.CBN {name}={value!r}: choose one of '
                         f'{choices}.')


def _count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f'visrep.CBN {name}={value!r}: give an integer '
                         '>= 0.')


@MODELS.register_module()
class CBN(_BatchNorm):
    """Cross-Iteration BatchNorm for inputs ``(N, C, *)`` (1-D, 2-D, 3-D).

    Args:
        num_features: channels ``C``.
        eps, momentum, affine, track_running_stats: as ``nn.BatchNorm2d``.
        buffer_num: past iterations in the window (``k - 1``); 0 is BatchNorm.
        rho: weight of the Taylor compensation; 0 is naive CBN (plain
            averaging, needs no convolution before the layer).
        burnin: iterations (or epochs) of plain BatchNorm before the window
            is used (official ``iter_count > burnin``).
        burnin_unit: ``'iter'`` (counted per training call, as officially)
            or ``'epoch'`` (converted by :class:`CBNBurnInHook`).
        two_stage: ``True``: the full window right after burn-in (official
            default); ``False``: the window grows linearly over the burn-in.
        negative_var: ``'drop'`` (official code: entries whose compensated
            variance is negative are left out of the average) or ``'max'``
            (the paper: ``nu = max(nu, mu^2)`` per entry).
        eps_in_sqrt: ``True``: ``1/sqrt(var + eps)`` (BatchNorm); ``False``:
            ``1/(sqrt(var) + eps)`` (official ``out_p=False``).
        plain_var: variance used without a window: ``'biased'`` (BatchNorm)
            or ``'unbiased'`` (official ``x.var()``).
        affine_init: ``'ones'`` (BatchNorm) or ``'uniform'`` (official
            ``weight.uniform_()``).
        cuda_graphs: on CUDA, replay the per-channel operations of a
            training step as CUDA graphs (:mod:`.fast.cuda_graph`; the same
            results, far fewer kernel launches).
        dnu_in_backward: compute the new entry's ``d nu/dW`` in the
            backward of the convolution before the layer, stacked with its
            weight gradient (:mod:`.fast.conv_pair`; CPU, ungrouped fp32 /
            fp64 convs).  Equal to the default route to fp32 summation
            order; measured no faster on CPU (the product's multiply-adds
            are the same, benchmarks/README.md), hence off by default.
    """

    _abbr_ = 'bn'  # layer names (bn1, downsample.1, ...) and checkpoints

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 momentum: Optional[float] = 0.1,
                 affine: bool = True,
                 track_running_stats: bool = True,
                 buffer_num: int = 0,
                 rho: float = 1.0,
                 burnin: int = 0,
                 burnin_unit: str = 'iter',
                 two_stage: bool = True,
                 negative_var: str = 'drop',
                 eps_in_sqrt: bool = True,
                 plain_var: str = 'biased',
                 affine_init: str = 'ones',
                 cuda_graphs: bool = True,
                 dnu_in_backward: bool = False,
                 device=None,
                 dtype=None):
        _count('buffer_num', buffer_num)
        _count('burnin', burnin)
        if not (isinstance(rho, (int, float)) and rho >= 0):
            raise ValueError(f'visrep.CBN rho={rho!r}: give a number >= 0 '
                             '(1.0 compensates, 0 is naive CBN).')
        _choice('burnin_unit', burnin_unit, BURNIN_UNITS)
        _choice('negative_var', negative_var, NEGATIVE_VAR_RULES)
        _choice('plain_var', plain_var, PLAIN_VARS)
        _choice('affine_init', affine_init, AFFINE_INITS)
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, device=device, dtype=dtype)
        self.buffer_num = buffer_num
        self.rho = float(rho)
        self.burnin = burnin
        self.burnin_unit = burnin_unit
        self.two_stage = two_stage
        self.negative_var = negative_var
        self.eps_in_sqrt = eps_in_sqrt
        self.plain_var = plain_var
        self.affine_init = affine_init
        self.iters_per_epoch: Optional[int] = None  # set by CBNBurnInHook
        self.iter_count = 0  # training calls so far (official iter_count)
        self.cuda_graphs = cuda_graphs
        self.dnu_in_backward = dnu_in_backward
        self.window = StatWindow(buffer_num)
        self._bound_weight: Optional[Tensor] = None
        self._buffers_of_step: Optional[StepBuffers] = None
        self._graphs = GraphedSteps()
        # the newest entry's d nu, until the backward writes it (fast route)
        self._pending_dnu: Optional[conv_pair.PendingDnu] = None
        self.register_state_dict_post_hook(save_cbn_state)
        self.reset_parameters()
        if self.needs_conv:
            TRACKER.watch(self)

    @property
    def needs_conv(self) -> bool:
        """Whether the statistics are compensated (a conv must come before)."""
        return self.buffer_num > 0 and self.rho != 0

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.affine and getattr(self, 'affine_init', 'ones') == 'uniform':
            init.uniform_(self.weight)

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f'visrep.CBN expects (N, C, *) inputs, got a '
                             f'{x.dim()}-D tensor.')

    def _check_values_per_channel(self, x: Tensor) -> None:
        """BatchNorm's training check (``F.batch_norm``: "Expected more than
        1 value per channel when training"), on every training path: one
        value per channel has a zero variance, and the layer would output
        its bias with no gradient."""
        if x.numel() // x.shape[1] == 1:
            raise ValueError(
                f'visrep.CBN {layer_name(self)}: expected more than 1 value '
                f'per channel when training, got input size '
                f'{tuple(x.shape)}: with one value per channel the variance '
                'is 0 and the layer outputs its bias with no gradient. Fix: '
                'a batch of 2 or more per process or a larger feature map '
                'for this layer, or a norm that does not use the batch '
                "(e.g. norm_cfg=dict(type='GN', ...)).")

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, buffer_num={self.buffer_num}, '
                f'rho={self.rho}, burnin={self.burnin} {self.burnin_unit}')

    # ------------------------------------------------------------------
    # burn-in
    def burnin_iters(self) -> int:
        if self.burnin_unit == 'iter' or self.burnin == 0:
            return self.burnin
        if self.iters_per_epoch is None:
            raise RuntimeError(
                f'visrep.CBN {layer_name(self)}: burnin={self.burnin} with '
                "burnin_unit='epoch' needs the epoch length: add "
                "custom_hooks=[dict(type='visrep.CBNBurnInHook')] to an "
                'epoch-based config, or give the burn-in in iterations '
                "(burnin_unit='iter').")
        return self.burnin * self.iters_per_epoch

    def active_buffer_num(self) -> int:
        """Past iterations used at the current ``iter_count`` (official
        ``_update_buffer_num``)."""
        return self._buffer_num_at(self.iter_count)

    def _buffer_num_at(self, iter_count: int) -> int:
        """The official ``buffer_num`` after ``iter_count`` training calls."""
        burnin = self.burnin_iters() if self.buffer_num else 0
        if burnin == 0:
            return self.buffer_num
        if self.two_stage:
            return self.buffer_num if iter_count > burnin else 0
        return int(self.buffer_num * min(iter_count / burnin, 1.0))

    def pooled_buffer_num(self) -> int:
        """Past entries pooled at the current step (at most; fewer while the
        window fills): the official code pools every entry of its lists,
        which the previous step truncated to ITS ``buffer_num`` (``pre_mu =
        [cur] + pre_mu[:buffer_num - 1]``).  With a non-decreasing
        ``buffer_num`` (burn-in) that is ``min(stored, buffer_num of the
        previous call)``: a ramp (``two_stage=False``) pools one entry fewer
        than its ``buffer_num`` at each step where the window grows."""
        return min(self.active_buffer_num(),
                   self._buffer_num_at(self.iter_count - 1))

    # ------------------------------------------------------------------
    # forward
    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not self.training:
            return self._normalize_with_running_stats(x)
        self._check_values_per_channel(x)
        if _in_backward():
            raise RuntimeError(
                f'visrep.CBN {layer_name(self)} ran during a backward pass: '
                'activation checkpointing (with_cp=True, torch.utils.'
                'checkpoint) recomputes the layer, which would count it '
                'twice per iteration and change its window between the '
                'forward and the recomputation. Fix: with_cp=False for the '
                'modules that hold CBN layers.')
        self.iter_count += 1
        TRACKER.count_call(self)
        call = self._bound_conv(x) if (self.needs_conv
                                       and x.requires_grad) else None
        if self.active_buffer_num() == 0 or not x.requires_grad or (
                self.needs_conv and call is None):
            return self._batch_norm(x)
        return self._cross_iteration_norm(x, call, self.pooled_buffer_num())

    def _bound_conv(self, x: Tensor) -> Optional[ConvCall]:
        """The conv producing ``x``; binds on first use, then verifies."""
        call = find_conv_call(x)
        if isinstance(call, str):
            TRACKER.report(self, call)
            return None
        if self._bound_weight is None:
            size = self.window.kernel_size
            if size is not None and size != call.weight[0].numel():
                raise CBNBindingError(
                    f'visrep.CBN {layer_name(self)}: its buffered statistics '
                    f'were taken with a conv of {size} weights per output '
                    f'channel, but its input comes from a conv weight of '
                    f'shape {tuple(call.weight.shape)}. Load a checkpoint of '
                    'this model, or reset the layer (reset_cbn_state()).')
            # a plain attribute, not a registered parameter of this layer
            object.__setattr__(self, '_bound_weight', call.weight)
        elif call.weight is not self._bound_weight:
            TRACKER.report(
                self, 'now comes from a different convolution than the one '
                'it was bound to at its first training iteration')
            return None
        if call.weight.shape[0] != self.num_features:
            TRACKER.report(
                self, f'comes from a convolution with {call.weight.shape[0]} '
                f'output channels, not {self.num_features}')
            return None
        return call

    def _momentum_factor(self) -> Union[float, Tensor]:
        """BatchNorm's running-average factor (counts ``num_batches_tracked``;
        with ``momentum=None`` a tensor: no host synchronisation)."""
        if not self.track_running_stats:
            return 0.0
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            return self.num_batches_tracked.reciprocal()
        return self.momentum

    def _update_running_stats(self, mean: Tensor, biased_var: Tensor,
                              count: Union[int, Tensor]) -> None:
        """From the current batch; ``count``: values per channel (a
        one-element tensor in :meth:`_per_channel_step`)."""
        factor = self._momentum_factor()
        if not self.track_running_stats:
            return
        with torch.no_grad():
            if isinstance(count, Tensor):
                unbiased = biased_var * count / (count - 1).clamp_(min=1)
            else:
                unbiased = biased_var * (count / max(count - 1, 1))
            dtype = self.running_mean.dtype
            if isinstance(factor, Tensor):
                factor = factor.to(dtype)
            self.running_mean.lerp_(cast(mean, dtype), factor)
            self.running_var.lerp_(cast(unbiased, dtype), factor)

    def _affine(self, x: Tensor, mean: Tensor, var: Tensor) -> Tensor:
        """``(x - mean) / std * weight + bias`` with this layer's eps rule."""
        if self.eps_in_sqrt:
            scale = torch.rsqrt(var + self.eps)
        else:
            scale = 1 / (var.sqrt() + self.eps)
        if self.affine:
            scale = scale * self.weight
            shift = self.bias - mean * scale
        else:
            shift = -mean * scale
        view = (1, -1) + (1, ) * (x.dim() - 2)
        return torch.addcmul(
            shift.view(view).to(x.dtype), x, scale.view(view).to(x.dtype))

    def _normalize_with_running_stats(self, x: Tensor) -> Tensor:
        if self.eps_in_sqrt or not self.track_running_stats:
            return super().forward(x)  # BatchNorm (batch stats if untracked)
        return self._affine(x, self.running_mean, self.running_var)

    def _batch_norm(self, x: Tensor) -> Tensor:
        """The current batch alone (no window): BatchNorm by default."""
        if self.eps_in_sqrt and self.plain_var == 'biased':
            return super().forward(x)
        mean, var = batch_moments(x)
        count = x.numel() // x.shape[1]
        self._update_running_stats(mean.detach(), var.detach(), count)
        if self.plain_var == 'unbiased':
            var = var * (count / max(count - 1, 1))
        return self._affine(x, mean, var)

    def _cross_iteration_norm(self, x: Tensor, call: Optional[ConvCall],
                              buffer_num: int) -> Tensor:
        window = self.window
        # the weight as the convolution used it (the bf16 copy under
        # autocast): the statistics were taken with it; None for naive CBN
        # or a frozen conv (W_t - W_tau = 0: no Taylor term)
        kernel = call.kernel if (call is not None
                                 and call.weight.requires_grad) else None
        self.settle_pending_dnu()  # the window's d nu, all of them
        # fast route: the new entry's d nu in the convolution's backward
        in_backward = (self.dnu_in_backward and kernel is not None
                       and conv_pair.applies(call, x))
        # statistics in fp32 at least, also under autocast, and no TF32
        # (neither changes the normalisation: no product, no convolution)
        with torch.autocast(x.device.type, enabled=False), \
                ieee_fp32(x.device):
            with torch.no_grad():
                coeffs, dmu, slot, pooled = self._window_statistics(
                    x, call, kernel, buffer_num)
            if in_backward:
                x = conv_pair.attach(self, call, x, slot)
            out = NormWithStats.apply(x, self.weight, self.bias, coeffs,
                                      self.eps if self.eps_in_sqrt else 0.0,
                                      pooled)
            if kernel is not None and not in_backward:  # into its slot
                with torch.no_grad():
                    window.write_dnu(slot, square_gradient_sum(
                        call, x, window.dnu_slot(slot)))
        window.commit(slot, dmu)
        return out

    def settle_pending_dnu(self) -> None:
        """Write the newest entry's ``d nu`` if the backward has not (no
        backward ran since the forward): before the window is read, saved
        or converted."""
        if getattr(self, '_pending_dnu', None) is not None:
            with torch.no_grad():
                self._pending_dnu.settle()

    def _window_statistics(self, x: Tensor, call: Optional[ConvCall],
                           kernel: Optional[Tensor], buffer_num: int):
        """``(coeffs, dmu, slot, pooled)``: the normalisation's factors
        (a tensor of its own), the new entry's ``d mu`` and slot, and
        whether past entries were pooled; writes the new entry's
        per-channel values and the running statistics."""
        window = self.window
        channels = x.shape[1]
        dmu = None if kernel is None else mean_gradient(call, x)
        slot = window.reserve(
            channels, stat_dtype(x.dtype), x.device,
            None if dmu is None else (dmu.shape[0], dmu[0].numel()),
            None if kernel is None else (channels, kernel[0].numel()))
        pooled = len(window) > 0
        compensate = pooled and kernel is not None and self.rho != 0
        # fast route: the step's tensors stay in place (fast/step_buffers.py)
        buffers = self._buffers_of_step = reuse_or_new(
            self._buffers_of_step, channels, window.capacity, window.stats)
        batch_moments(x.detach(), out=buffers.moments)
        buffers.set_count(x.numel() // channels)
        if kernel is not None:  # and <dmu_now, W> for the new entry
            window.weight_products(kernel, dmu, out=buffers.products)
        if compensate:
            window.weight_dots(kernel, out=buffers.dots)
        keep = window.in_use_weights(buffer_num, window.stats) \
            if pooled else None

        def per_channel_step():
            self._per_channel_step(buffers, slot, keep, compensate,
                                   kernel is not None)

        if self.cuda_graphs:  # fast route: replayed as a CUDA graph on CUDA
            key = (slot, len(window), buffer_num, compensate,
                   kernel is not None, self.rho, self.eps, self.negative_var,
                   self.eps_in_sqrt, self.momentum,
                   None if keep is None else keep.data_ptr())
            self._graphs(key, self._touched(buffers), per_channel_step)
        else:
            per_channel_step()
        # a tensor of its own: the next call overwrites the buffer
        return buffers.coeffs.clone(), dmu, slot, pooled

    def _per_channel_step(self, buffers: StepBuffers, slot: int,
                          keep: Optional[Tensor], compensate: bool,
                          with_gradients: bool) -> None:
        """Everything per channel of a training step, from and into tensors
        that stay in place (replayed as a CUDA graph, :mod:`.fast.cuda_graph`):
        the compensated window (Taylor terms), the drop rule, pooling, the
        normalisation's coefficients, the running statistics and the new
        window entry."""
        window = self.window
        mean_now, var_now = buffers.moments.unbind(0)
        past_mean = past_var = None
        if keep is not None:
            if compensate:
                past_mean, past_var = window.compensate(
                    buffers.products.t(), buffers.dots.t(), self.rho)
            else:
                past_mean, past_var = window.stats[:, 0], window.stats[:, 1]
            if self.negative_var == 'drop':  # official: leave them out
                keep = torch.mul(keep, past_var >= 0)
            else:  # paper: nu = max(nu, mu^2), i.e. var >= 0
                past_var = past_var.clamp(min=0)
                keep = keep.expand_as(past_var)
        mean, var, total = pool(mean_now, var_now, past_mean, past_var, keep)
        coefficients(mean, var, total, self.weight, self.eps,
                     self.eps_in_sqrt, buffers.count, out=buffers.coeffs)
        self._update_running_stats(mean_now, var_now, buffers.count)
        if with_gradients:  # d nu/dW = 2/M times the stored sum
            window.write_row(slot, mean_now, var_now, buffers.products[:, -1],
                             2 / buffers.count)
        else:
            window.write_row(slot, mean_now, var_now)

    def _touched(self, buffers: StepBuffers) -> List[Tensor]:
        """The tensors :meth:`_per_channel_step` reads or writes that live
        across calls (a CUDA graph holds their addresses), but the window's
        cached slot weights (their address is part of the graph's key)."""
        window = self.window
        found = buffers.tensors() + [window.stats]
        for tensor in (window.dnu_scale, self.weight, self.bias,
                       self.running_mean, self.running_var,
                       self.num_batches_tracked):
            if tensor is not None:
                found.append(tensor)
        return found

    # ------------------------------------------------------------------
    # state
    def reset_cbn_state(self) -> None:
        """Forget the buffered statistics, the binding and the counter."""
        if self._pending_dnu is not None:
            self._pending_dnu.close()
        self.window = StatWindow(self.buffer_num)
        self.iter_count = 0
        self._bound_weight = None
        self._buffers_of_step = None
        self._graphs.clear()

    def _apply(self, fn, recurse=True):
        self.settle_pending_dnu()
        super()._apply(fn, recurse)
        self.window.apply(fn)
        self._buffers_of_step = None
        self._graphs.clear()
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
        load_cbn_state(self, state_dict, prefix, unexpected_keys, error_msgs)


def _in_backward() -> bool:
    """Whether autograd is running a backward pass (recomputation)."""
    task = getattr(torch._C, '_current_graph_task_id', None)
    return task is not None and task() != -1
