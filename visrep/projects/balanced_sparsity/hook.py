"""``visrep.BalancedSparsityHook``: prune any mm* model to balanced sparsity.

Masks follow :mod:`.mask` (banks of ``bank_size`` consecutive row elements,
the same number kept in every bank), layers :mod:`.selection`, timing
:mod:`.schedule`; :mod:`.mask_keeper` keeps pruned weights at zero.

Checkpoints carry the hook's state under ``checkpoint['balanced_sparsity']``
(keep-masks by parameter name, each layer's current sparsity and bank size),
so ``--resume`` continues with the same masks -- and, on CPU, bit-identical
losses -- and ``load_from`` of a pruned (or exported) checkpoint starts from
its masks.  A checkpoint without masks that resumes past ``begin`` is
re-pruned at once to the sparsity of the schedule's latest update.

Pruned weights stay at zero through a gradient mask, zeroed optimizer state
and (unless the optimizer provably keeps them at zero) a re-mask after every
optimizer step: :mod:`.mask_keeper`.

Priority ``'LOW'``: in ``after_train_iter`` the hook runs after mmengine's
``EMAHook`` (``NORMAL``) so that it can zero the pruned entries of the EMA
weights too; masks are recomputed in ``before_train_iter`` and the total
sparsity is put into the message hub there (``train/sparsity``), so the
``LoggerHook`` of the same iteration reports it.  Pruned weights are zero
again when ``optimizer.step()`` returns, before any hook runs.
"""
import logging
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import EMAHook, Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from visrep.registry import HOOKS
from .mask import (PARTIAL_BANK_RULES, balanced_mask, check_bank_size,
                   check_sparsity, pruned_per_bank)
from .mask_keeper import MaskKeeper
from .report import format_table, layer_report, total_sparsity
from .schedule import SCHEDULES, SparsitySchedule
from .selection import DEFAULT_LAYER_TYPES, PrunedLayer, select_layers

#: top-level checkpoint key of the hook's state
CHECKPOINT_KEY = 'balanced_sparsity'
STATE_VERSION = 1


def optimizers_of(optim_wrapper) -> List:
    """The torch optimizers of an ``OptimWrapper`` or ``OptimWrapperDict``."""
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None)
    if wrappers is not None:
        return [w.optimizer for w in wrappers.values()]
    return [optim_wrapper.optimizer]


def _resolve_n_m(n_m, sparsity, bank_size):
    """``n_m=(N, M)``: keep N of every M -> ``bank_size=M, sparsity=1-N/M``."""
    if n_m is None:
        if sparsity is None:
            raise ValueError('BalancedSparsityHook: give the target sparsity '
                             '(e.g. sparsity=0.75) or an N:M pattern '
                             '(e.g. n_m=(2, 4)).')
        return sparsity, 32 if bank_size is None else bank_size
    if (not isinstance(n_m, (list, tuple)) or len(n_m) != 2
            or not all(isinstance(v, int) for v in n_m)
            or not 0 < n_m[0] < n_m[1]):
        raise ValueError(f'n_m={n_m!r}: keep N of every M consecutive '
                         'weights, as (N, M) with 0 < N < M, e.g. (2, 4).')
    n, m = n_m
    if bank_size is not None and bank_size != m:
        raise ValueError(f'n_m={tuple(n_m)} sets bank_size={m}; remove '
                         f'bank_size={bank_size}.')
    if sparsity is not None and abs(sparsity - (1 - n / m)) > 1e-9:
        raise ValueError(f'n_m={tuple(n_m)} means sparsity {1 - n / m}; '
                         f'remove sparsity={sparsity}.')
    return 1 - n / m, m


@HOOKS.register_module()
class BalancedSparsityHook(Hook):
    """Gradual (or one-shot) bank-balanced magnitude pruning.

    Args:
        sparsity (float): target fraction of pruned weights in every bank.
        bank_size (int): consecutive row elements per bank. Defaults to 32
            (``M`` with ``n_m``).
        n_m (tuple[int, int], optional): N:M sparsity, e.g. ``(2, 4)``:
            ``bank_size=M``, ``sparsity=1-N/M``.
        schedule (str, optional): ``'cubic'`` (Zhu & Gupta) or
            ``'oneshot'``. Defaults to ``'cubic'`` when ``end`` is given,
            else ``'oneshot'``.
        begin, end, interval (int): first update, the update that reaches
            the target, and the spacing of updates -- in iterations, or in
            epochs with ``by_epoch=True`` (converted with the train
            dataloader's length; needs an epoch-based loop).
        initial_sparsity (float): ``s_i`` of the cubic schedule.
        layer_types, include, exclude, exclude_first_last, layer_cfgs:
            layer selection and per-layer targets (:mod:`.selection`).
        partial_bank (str): rows that are not a multiple of the bank size:
            ``'error'`` or ``'proportional'`` (:mod:`.mask`).
        reapply_after_step (bool | str): re-zero pruned weights after every
            ``optimizer.step()``: ``'auto'`` (not for the torch optimizers
            that provably keep them at zero), ``True`` or ``False``
            (:mod:`.mask_keeper`).
        log_layers (bool): log the per-layer table at every update.
    """

    priority = 'LOW'

    def __init__(self,
                 sparsity: Optional[float] = None,
                 bank_size: Optional[int] = None,
                 n_m: Optional[Sequence[int]] = None,
                 schedule: Optional[str] = None,
                 begin: int = 0,
                 end: Optional[int] = None,
                 interval: int = 1,
                 by_epoch: bool = False,
                 initial_sparsity: float = 0.0,
                 layer_types: Sequence = DEFAULT_LAYER_TYPES,
                 include: Optional[Sequence[str]] = None,
                 exclude: Sequence[str] = (),
                 exclude_first_last: bool = True,
                 layer_cfgs: Sequence[dict] = (),
                 partial_bank: str = 'error',
                 reapply_after_step='auto',
                 log_layers: bool = True):
        self.sparsity, self.bank_size = _resolve_n_m(n_m, sparsity, bank_size)
        check_sparsity(self.sparsity)
        check_bank_size(self.bank_size)
        self.n_m = tuple(n_m) if n_m is not None else None
        if schedule is None:
            schedule = 'oneshot' if end is None else 'cubic'
        if schedule not in SCHEDULES:
            raise ValueError(f'schedule={schedule!r}: use one of '
                             f'{SCHEDULES}.')
        if partial_bank not in PARTIAL_BANK_RULES:
            raise ValueError(f'partial_bank={partial_bank!r}: use one of '
                             f'{PARTIAL_BANK_RULES}.')
        for field, value in (('include', include), ('exclude', exclude)):
            if isinstance(value, str):
                raise ValueError(f'{field}={value!r}: give a list of regular '
                                 f'expressions, e.g. [{value!r}].')
        # checks the schedule's fields now, in the units given
        SparsitySchedule(schedule, begin, end, interval, initial_sparsity)
        self.schedule_cfg = dict(kind=schedule, begin=begin, end=end,
                                 interval=interval, initial=initial_sparsity)
        self.by_epoch = by_epoch
        self.selection_cfg = dict(
            layer_types=tuple(layer_types),
            include=None if include is None else list(include),
            exclude=list(exclude),
            exclude_first_last=exclude_first_last,
            layer_cfgs=[dict(c) for c in layer_cfgs])
        self.partial_bank = partial_bank
        if reapply_after_step not in (True, False, 'auto'):
            raise ValueError(f'reapply_after_step={reapply_after_step!r}: '
                             "use True, False or 'auto'.")
        self.reapply_after_step = reapply_after_step
        self.log_layers = log_layers

        self.keeper = MaskKeeper()
        self.layers: Optional[List[PrunedLayer]] = None
        self.schedule: Optional[SparsitySchedule] = None
        self.current: Dict[str, float] = {}  # param name -> sparsity in force
        self.total = 0.0
        self.post_step_optimizers: List[str] = []
        self._pending: Optional[dict] = None

    # -- setup ------------------------------------------------------------

    def _iteration_schedule(self, runner) -> SparsitySchedule:
        cfg = dict(self.schedule_cfg)
        if self.by_epoch:
            if not isinstance(runner.train_loop, EpochBasedTrainLoop):
                raise ValueError(
                    'BalancedSparsityHook by_epoch=True needs an epoch-based '
                    'train_cfg (the loop is '
                    f'{type(runner.train_loop).__name__}): give begin/end/'
                    'interval in iterations with by_epoch=False.')
            per_epoch = len(runner.train_dataloader)
            for key in ('begin', 'end', 'interval'):
                if cfg[key] is not None:
                    cfg[key] *= per_epoch
        schedule = SparsitySchedule(**cfg)
        if schedule.last >= runner.max_iters:
            unit = 'epoch' if self.by_epoch else 'iteration'
            field = 'end' if schedule.kind == 'cubic' else 'begin'
            print_log(
                f'BalancedSparsityHook: the last mask update is at iteration '
                f'{schedule.last} but training ends after {runner.max_iters} '
                'iterations, so this run will not reach the target sparsity '
                '(fine if you resume it later with a longer schedule; '
                f'otherwise set {field} to an earlier {unit}).',
                logger='current', level=logging.WARNING)
        return schedule

    def _select(self, model) -> None:
        self.layers, skipped = select_layers(
            model, self.sparsity, self.bank_size, **self.selection_cfg)
        print_log(
            f'BalancedSparsityHook: pruning {len(self.layers)} layers; '
            f'not pruned: {skipped}.', logger='current')
        realised = {(l.sparsity, l.bank_size):
                    pruned_per_bank(l.sparsity, l.bank_size) / l.bank_size
                    for l in self.layers}
        off = {k: v for k, v in realised.items() if abs(k[0] - v) > 1e-9}
        if off:
            print_log(
                'BalancedSparsityHook: a bank of B entries prunes '
                'floor(s*B), so these (target, bank size) pairs end at: ' +
                ', '.join(f'({s}, {b}) -> {v:.4f}'
                          for (s, b), v in off.items()) + '.',
                logger='current', level=logging.WARNING)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if self.layers is None:
            self._select(model)
        self.schedule = self._iteration_schedule(runner)
        if self._pending is not None:
            self._restore(self._pending)
            self._pending = None
        missing = [l for l in self.layers if l.param_name not in self.current]
        latest = self.schedule.last_update_at_or_before(runner.iter)
        if missing and latest is not None and latest < runner.iter:
            print_log(
                f'BalancedSparsityHook: {len(missing)} layers have no mask '
                f'at iteration {runner.iter}; pruning them now to the '
                f'sparsity of iteration {latest}.', logger='current',
                level=logging.WARNING)
            self._prune(runner, missing, latest)
        self._enforce(runner)

    def _restore(self, state: dict) -> None:
        masks = state.get('masks', {})
        selected = {l.param_name: l for l in self.layers}
        unknown = sorted(set(masks) - set(selected))
        if unknown:
            print_log(f'BalancedSparsityHook: the checkpoint has masks of '
                      f'layers this hook does not prune, left dense: '
                      f'{unknown}.', logger='current', level=logging.WARNING)
        for name, keep in masks.items():
            if name in selected:
                self.keeper.set_mask(name, selected[name].weight, keep)
                self.current[name] = float(state.get('sparsity', {}).get(
                    name, 1.0 - float(keep.float().mean())))
        self.total = total_sparsity(self._keep_masks())

    def _keep_masks(self):
        return {n: self.keeper.keep_mask(n) for n in self.keeper.pruned}

    def _enforce(self, runner) -> None:
        optimizers = optimizers_of(runner.optim_wrapper)
        self.keeper.apply()
        self.keeper.zero_optimizer_state(optimizers)
        #: optimizer classes that got the re-mask after each step
        self.post_step_optimizers = [
            type(o).__name__
            for o in self.keeper.attach(optimizers, self.reapply_after_step)]
        self._mask_ema(runner)

    # -- pruning ----------------------------------------------------------

    def _prune(self, runner, layers: List[PrunedLayer], t: int) -> None:
        reports = []
        for layer in layers:
            name = layer.param_name
            sparsity = self.schedule.sparsity(t, layer.sparsity)
            prev = self.keeper.keep_mask(name) if name in \
                self.keeper.pruned else None
            keep = balanced_mask(layer.weight, sparsity, layer.bank_size,
                                 prev_keep=prev,
                                 partial_bank=self.partial_bank,
                                 name=layer.name)
            self.keeper.set_mask(name, layer.weight, keep)
            self.current[name] = sparsity
            if self.log_layers:
                reports.append(
                    layer_report(layer.name, keep, layer.bank_size))
        self.total = total_sparsity(self._keep_masks())
        print_log(f'BalancedSparsityHook: masks updated before iteration '
                  f'{t}: total sparsity {self.total:.4f}.', logger='current')
        if self.log_layers:
            print_log('\n' + format_table(reports), logger='current')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        t = runner.iter
        if self.schedule.is_update(t):
            self._prune(runner, self.layers, t)
            self._enforce(runner)
        runner.message_hub.update_scalar('train/sparsity', self.total)

    def _mask_ema(self, runner) -> None:
        for hook in runner.hooks:
            ema = getattr(hook, 'ema_model', None)
            if isinstance(hook, EMAHook) and ema is not None:
                self.keeper.apply_to(dict(ema.module.named_parameters()))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._mask_ema(runner)

    def after_train(self, runner) -> None:
        self.keeper.detach()

    # -- checkpoints ------------------------------------------------------

    def state_dict(self) -> dict:
        return dict(
            version=STATE_VERSION,
            masks=self.keeper.state_dict(),
            sparsity=dict(self.current),
            bank_size={l.param_name: l.bank_size for l in self.layers or []
                       if l.param_name in self.current},
            n_m=list(self.n_m) if self.n_m else None)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get(CHECKPOINT_KEY)
