"""The hook in mmengine's Runner: schedule, zeros, optimizers, EMA, resume.

A recorder hook with the lowest priority looks at the model after every
training iteration (after the optimizer step and every other hook).
"""
import os.path as osp

import pytest
import torch
from visrep.projects.balanced_sparsity import (BalancedSparsityHook, MaskKeeper,
                                        as_rows, bank_nnz, pruned_per_bank)
from _helpers import read_scalars

PRUNED = ('conv.weight', 'fc1.weight', 'fc2.weight')
# cubic from iteration 2 to 10 every 2 (8 iterations per epoch, 2 epochs)
CUBIC = dict(sparsity=0.75, bank_size=16, begin=2, end=10, interval=2)


def _train(make_runner, hook_cfg, optim='sgd', **kwargs):
    recorder = make_runner.Recorder()
    runner = make_runner(hook_cfg, optim=optim,
                         extra_hooks=[recorder] + kwargs.pop('hooks', []),
                         **kwargs)
    runner.train()
    return runner, recorder


def _sparsity(keep):
    return 1 - keep.float().mean().item()


@pytest.mark.parametrize('optim', ['sgd', 'adamw', 'amp'])
def test_pruned_weights_stay_zero(optim, make_runner):
    runner, rec = _train(make_runner, CUBIC, optim)
    assert rec.violations == [] and rec.state_violations == []
    hook = next(h for h in runner.hooks if isinstance(h, BalancedSparsityHook))
    assert sorted(hook.keeper.pruned) == sorted(PRUNED)
    params = dict(runner.model.named_parameters())
    for name in PRUNED:
        keep = hook.keeper.keep_mask(name)
        assert bank_nnz(keep, 16).unique().tolist() == [4]
        # the kept weights trained: non-zero, and only they are
        assert ((params[name] != 0) == keep).float().mean() > 0.99
    # the kept weights moved during training (the optimizer really ran)
    assert rec.losses[15] < rec.losses[0]
    if optim == 'amp':
        assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'


@pytest.mark.parametrize('reapply,optim', [
    (True, 'sgd'), ('auto', 'drifting'), (False, 'drifting')])
def test_reapply_after_step(reapply, optim, make_runner):
    """SGD with the post-step re-mask; an optimizer that moves zeros (not
    a known zero-preserving class: 'auto' re-masks it; False does not)."""
    runner, rec = _train(make_runner, dict(CUBIC, reapply_after_step=reapply),
                         optim, max_epochs=1)
    hook = next(h for h in runner.hooks if isinstance(h, BalancedSparsityHook))
    assert hook.post_step_optimizers == (
        [] if reapply is False else [{'sgd': 'SGD',
                                      'drifting': 'DriftingSGD'}[optim]])
    if reapply is False:
        assert {name for _, name in rec.violations} == set(PRUNED)
    else:
        assert rec.violations == [] and rec.state_violations == []
    assert hook.reapply_after_step == reapply


def test_known_optimizers_get_no_post_step_pass(make_runner):
    runner = make_runner(dict(CUBIC), 'adamw', max_epochs=1)
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, BalancedSparsityHook))
    assert hook.post_step_optimizers == []


def test_sparsity_follows_the_schedule_at_each_update(make_runner):
    _, rec = _train(make_runner, CUBIC)
    # masks exist from iteration 2 on, change only at 2, 4, 6, 8, 10
    assert min(rec.masks) == 0 and rec.masks[0] == {} and rec.masks[1] == {}
    for t in range(2, 16):
        s_t = 0.75 + (0 - 0.75) * (1 - min(t - t % 2 - 2, 8) / 8)**3
        expected = pruned_per_bank(s_t, 16) / 16
        for name in PRUNED:
            assert _sparsity(rec.masks[t][name]) == pytest.approx(expected), t
    changed = [t for t in range(3, 16) if any(
        not torch.equal(rec.masks[t][n], rec.masks[t - 1][n]) for n in PRUNED)]
    assert changed == [4, 6, 8, 10]   # s_2 = 0 -> 1/16 ... at 4 (floor)
    for t in changed:  # nested masks: no pruned weight regrows
        for name in PRUNED:
            assert not (rec.masks[t][name] & ~rec.masks[t - 1][name]).any()


def test_oneshot_and_n_m_and_per_layer(make_runner):
    runner, rec = _train(make_runner, dict(
        n_m=(2, 4), begin=3, layer_cfgs=[dict(name='fc2', sparsity=0.75,
                                              bank_size=8)]), max_epochs=1)
    assert rec.masks[2] == {} and rec.violations == []
    masks = rec.masks[3]
    groups = as_rows(masks['fc1.weight']).reshape(64, -1, 4).sum(-1)
    assert (groups == 2).all()
    assert bank_nnz(masks['conv.weight'], 4).unique().tolist() == [2]
    assert bank_nnz(masks['fc2.weight'], 8).unique().tolist() == [2]
    assert all(torch.equal(rec.masks[7][n], masks[n]) for n in masks)


def test_total_sparsity_is_logged(make_runner, tmp_path):
    runner, _ = _train(make_runner, CUBIC, work_dir=tmp_path / 'logged')
    hub = runner.message_hub.get_scalar('train/sparsity')
    assert hub.current() == pytest.approx(0.75)
    records = {r['iter']: r['sparsity'] for r in read_scalars(
        str(tmp_path / 'logged')) if 'sparsity' in r}
    # scalars.json counts from 1: record t + 1 is iteration t, which trains
    # with the masks of the latest update (4: s = 0.434 -> 6 of 16 pruned)
    assert records[1] == records[2] == 0.0
    assert records[5] == records[6] == pytest.approx(6 / 16)
    assert records[11] == records[16] == pytest.approx(0.75)
    with open(next(p for p in (tmp_path / 'logged').rglob('*.log'))) as f:
        log = f.read()
    assert 'masks updated before iteration 10: total sparsity 0.7500' in log
    assert '| fc1 | 64x512 | 16 | 32 | 4 | 0.7500 | yes |' in log


def test_ema_weights_are_masked_too(make_runner):
    runner, rec = _train(make_runner, CUBIC, hooks=[
        dict(type='EMAHook', momentum=0.5)])
    ema_hook = next(h for h in runner.hooks if type(h).__name__ == 'EMAHook')
    hook = next(h for h in runner.hooks if isinstance(h, BalancedSparsityHook))
    ema = dict(ema_hook.ema_model.module.named_parameters())
    for name, pruned in hook.keeper.pruned.items():
        assert ema[name][pruned].abs().sum() == 0
        assert ema[name][~pruned].abs().sum() > 0


def test_without_the_keeper_pruned_weights_revive(make_runner, monkeypatch):
    """Negative control: the zero checks above can fail."""
    monkeypatch.setattr(MaskKeeper, 'attach', lambda self, *args: [])
    _, rec = _train(make_runner, dict(sparsity=0.5, bank_size=16, begin=1),
                    max_epochs=1)
    assert {name for _, name in rec.violations} == set(PRUNED)
    assert rec.state_violations  # momentum at pruned entries is non-zero


def test_stop_and_resume_is_bitwise_identical(make_runner, tmp_path):
    full = tmp_path / 'full'
    _, rec_full = _train(make_runner, CUBIC, work_dir=full)
    broken = tmp_path / 'broken'
    _, rec_first = _train(make_runner, CUBIC, work_dir=broken, max_epochs=1)
    assert all(rec_first.losses[t] == rec_full.losses[t] for t in range(8))
    checkpoint = torch.load(osp.join(broken, 'epoch_1.pth'),
                            weights_only=False)
    state = checkpoint['balanced_sparsity']
    assert sorted(state['masks']) == sorted(PRUNED)
    assert state['bank_size'] == {n: 16 for n in PRUNED}
    for name, keep in state['masks'].items():
        assert torch.equal(keep, rec_full.masks[7][name])
    runner, rec_resumed = _train(make_runner, CUBIC, work_dir=broken,
                                 resume=True)
    assert sorted(rec_resumed.losses) == list(range(8, 16))
    for t in range(8, 16):
        assert rec_resumed.losses[t] == rec_full.losses[t], t
        for name in PRUNED:
            assert torch.equal(rec_resumed.masks[t][name],
                               rec_full.masks[t][name]), (t, name)
    final_a = torch.load(osp.join(full, 'epoch_2.pth'), weights_only=False)
    final_b = torch.load(osp.join(broken, 'epoch_2.pth'), weights_only=False)
    for key, value in final_a['state_dict'].items():
        assert torch.equal(value, final_b['state_dict'][key]), key


def test_resume_without_masks_reprunes_at_once(make_runner, tmp_path):
    work_dir = tmp_path / 'nomask'
    _train(make_runner, CUBIC, work_dir=work_dir, max_epochs=1)
    path = osp.join(work_dir, 'epoch_1.pth')
    checkpoint = torch.load(path, weights_only=False)
    del checkpoint['balanced_sparsity']
    torch.save(checkpoint, path)
    _, rec = _train(make_runner, CUBIC, work_dir=work_dir, resume=True)
    # iteration 8 trains with the sparsity of the update at 8
    s_8 = 0.75 - 0.75 * (1 - 6 / 8)**3
    for name in PRUNED:
        assert _sparsity(rec.masks[8][name]) == pytest.approx(
            pruned_per_bank(s_8, 16) / 16)
    assert rec.violations == []


def test_epoch_units_are_converted(make_runner):
    _, rec = _train(make_runner, dict(sparsity=0.5, bank_size=16, begin=1,
                                      end=2, interval=1, by_epoch=True),
                    max_epochs=3)
    # 8 iterations per epoch: updates at 8 (s_i = 0) and 16 (s_f)
    assert rec.masks[7] == {}
    assert _sparsity(rec.masks[8]['fc1.weight']) == 0.0
    assert _sparsity(rec.masks[15]['fc1.weight']) == 0.0
    assert _sparsity(rec.masks[16]['fc1.weight']) == 0.5


def test_errors_at_the_start_of_training(make_runner):
    runner = make_runner(dict(sparsity=0.5, bank_size=32))
    with pytest.raises(ValueError, match=r'conv: rows of 144 elements'):
        runner.train()


def test_a_run_too_short_for_the_schedule_warns(make_runner, tmp_path):
    work_dir = tmp_path / 'short'
    runner = make_runner(dict(sparsity=0.5, begin=1, end=3, by_epoch=True),
                         work_dir=work_dir, max_epochs=1)
    runner.train()
    with open(next(p for p in work_dir.rglob('*.log'))) as f:
        log = f.read()
    assert ('WARNING - BalancedSparsityHook: the last mask update is at '
            'iteration 24 but training ends after 8 iterations') in log
    assert 'set end to an earlier epoch' in log


@pytest.mark.parametrize('kwargs,message', [
    (dict(), r'give the target sparsity'),
    (dict(n_m=(4, 2)), r'0 < N < M'),
    (dict(n_m=(2, 4), bank_size=8), r'remove bank_size=8'),
    (dict(n_m=(2, 4), sparsity=0.75), r'remove sparsity=0\.75'),
    (dict(sparsity=0.5, schedule='gradual'), r"schedule='gradual'"),
    (dict(sparsity=0.5, exclude='head'), r"give a list"),
    (dict(sparsity=0.5, end=3, begin=5), r'needs end > begin'),
    (dict(sparsity=0.5, reapply_after_step='always'),
     r"reapply_after_step='always'"),
])
def test_bad_hook_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BalancedSparsityHook(**kwargs)


def test_iteration_loop_refuses_epoch_units(make_runner):
    runner = make_runner(dict(sparsity=0.5, begin=0, by_epoch=True),
                         max_epochs=1)
    runner._train_loop = dict(type='IterBasedTrainLoop', max_iters=8)
    with pytest.raises(ValueError, match='needs an epoch-based train_cfg'):
        runner.train()
