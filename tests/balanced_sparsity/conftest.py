"""A tiny conv + MLP classifier trained by mmengine's Runner in seconds."""
import uuid

import pytest
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import DataLoader

import visrep  # noqa: F401


class ToyClassifier(BaseModel):
    """stem conv (first) -> conv -> fc1 -> fc2 -> head (last)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv2d(16, 32, 3, padding=1)   # rows of 144
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 4)

    def forward(self, inputs, labels=None, mode='tensor'):
        x = F.relu(self.stem(inputs))
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        logits = self.head(F.relu(self.fc2(x)))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits.float(), labels))
        return logits


def toy_loader(samples=64, batch_size=8):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (samples, ), generator=g)
    images = torch.randn(samples, 3, 8, 8, generator=g) + labels.view(
        -1, 1, 1, 1).float()
    data = [dict(inputs=images[i], labels=labels[i]) for i in range(samples)]
    return DataLoader(data, batch_size=batch_size, shuffle=False)


class DriftingSGD(torch.optim.SGD):
    """SGD that also adds 1e-3 to every weight: moves pruned zeros."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group['params']:
                p.add_(1e-3)
        return loss


OPTIMIZERS = {
    'sgd': dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                               weight_decay=1e-3)),
    'adamw': dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.05)),
    'amp': dict(type='visrep.CPUAmpOptimWrapper',
                optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                               nesterov=True, weight_decay=1e-3)),
}


class Recorder(Hook):
    """Lowest priority: after every iteration (optimizer step and all other
    hooks) records the loss and the masks, and any non-zero pruned weight
    or optimizer state entry."""

    priority = 'LOWEST'

    def __init__(self):
        self.losses, self.masks = {}, {}
        self.violations, self.state_violations = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        hook = next(h for h in runner.hooks
                    if type(h).__name__ == 'BalancedSparsityHook')
        params = dict(runner.model.named_parameters())
        self.losses[runner.iter] = outputs['loss'].item()
        self.masks[runner.iter] = {n: hook.keeper.keep_mask(n).clone()
                                   for n in hook.keeper.pruned}
        state = runner.optim_wrapper.optimizer.state
        for name, pruned in hook.keeper.pruned.items():
            if params[name][pruned].abs().sum() != 0:
                self.violations.append((runner.iter, name))
            for key, value in state.get(params[name], {}).items():
                if torch.is_tensor(value) and value.shape == pruned.shape \
                        and value[pruned].abs().sum() != 0:
                    self.state_violations.append((runner.iter, name, key))


@pytest.fixture
def make_runner(tmp_path):
    """``make_runner(hook_cfg, optim='sgd', max_epochs=2, **runner_kwargs)``
    (8 iterations per epoch)."""
    from mmengine.runner import Runner

    def make(hook_cfg, optim='sgd', max_epochs=2, work_dir=None,
             extra_hooks=(), **kwargs):
        torch.manual_seed(0)
        model = ToyClassifier()
        if optim == 'drifting':
            from mmengine.optim import OptimWrapper
            optim_wrapper = OptimWrapper(DriftingSGD(model.parameters(),
                                                     lr=0.05))
        else:
            optim_wrapper = OPTIMIZERS[optim]
        return Runner(
            model=model,
            work_dir=str(work_dir or tmp_path / f'run_{uuid.uuid4().hex[:6]}'),
            train_dataloader=toy_loader(),
            train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
            optim_wrapper=optim_wrapper,
            custom_hooks=[dict(type='visrep.BalancedSparsityHook', **hook_cfg)]
            + list(extra_hooks),
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', interval=1),
                logger=dict(type='LoggerHook', interval=1)),
            randomness=dict(seed=0),
            experiment_name=f'bs_{uuid.uuid4().hex}',
            **kwargs)

    make.Recorder = Recorder
    return make


@pytest.fixture(scope='session')
def converter():
    """``converter(name)``: ``main`` of tools/model_converters/<name>.py,
    to run in this process."""
    from _helpers.official_checkpoints import load_converter

    def load(name):
        return load_converter(name).main

    return load


@pytest.fixture(scope='module')
def pruned_checkpoint(tmp_path_factory):
    """One epoch of the toy model, 2:4 from iteration 1 on: its checkpoint."""
    from mmengine.runner import Runner
    work_dir = tmp_path_factory.mktemp('pruned')
    torch.manual_seed(0)
    Runner(model=ToyClassifier(), work_dir=str(work_dir),
           train_dataloader=toy_loader(),
           train_cfg=dict(by_epoch=True, max_epochs=1),
           optim_wrapper=OPTIMIZERS['sgd'],
           custom_hooks=[dict(type='visrep.BalancedSparsityHook', n_m=(2, 4),
                              begin=1)],
           default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                              interval=1)),
           experiment_name=f'bs_{uuid.uuid4().hex}').train()
    return str(work_dir / 'epoch_1.pth')
