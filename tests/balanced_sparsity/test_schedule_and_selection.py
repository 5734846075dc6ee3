"""The cubic / one-shot schedule and the layer selection rules."""
import pytest
import torch
from torch import nn

from visrep.projects.balanced_sparsity import SparsitySchedule, select_layers


def zhu_gupta(t, s_i, s_f, t0, n, dt):
    """s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3 (Zhu & Gupta, eq. 1)."""
    return s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt))**3


def test_cubic_matches_zhu_gupta_at_every_update():
    schedule = SparsitySchedule('cubic', begin=10, end=50, interval=8,
                                initial=0.1)
    updates = [t for t in range(0, 80) if schedule.is_update(t)]
    assert updates == [10, 18, 26, 34, 42, 50]  # 50: end, off the grid
    for t in updates[:-1]:
        assert schedule.sparsity(t, 0.8) == pytest.approx(
            zhu_gupta(t, 0.1, 0.8, 10, 5, 8))
    assert schedule.sparsity(10, 0.8) == pytest.approx(0.1)
    assert schedule.sparsity(50, 0.8) == 0.8
    assert schedule.sparsity(9, 0.8) == 0.0
    assert schedule.sparsity(70, 0.8) == 0.8
    values = [schedule.sparsity(t, 0.8) for t in updates]
    assert values == sorted(values)
    assert schedule.last_update_at_or_before(5) is None
    assert schedule.last_update_at_or_before(20) == 18
    assert schedule.last_update_at_or_before(60) == 50


def test_oneshot():
    schedule = SparsitySchedule('oneshot', begin=3, end=None, interval=1)
    assert [t for t in range(10) if schedule.is_update(t)] == [3]
    assert schedule.sparsity(2, 0.9) == 0.0
    assert schedule.sparsity(3, 0.9) == 0.9
    assert schedule.last == 3


@pytest.mark.parametrize('kwargs,message', [
    (dict(kind='linear'), r"schedule='linear'"),
    (dict(kind='cubic', end=None), r'needs end > begin'),
    (dict(kind='cubic', end=5, begin=5), r'needs end > begin'),
    (dict(kind='cubic', end=9, interval=0), r'interval=0'),
    (dict(kind='oneshot', end=9), r'leave end unset'),
    (dict(kind='cubic', end=9, begin=-1), r'begin=-1'),
])
def test_bad_schedules(kwargs, message):
    args = dict(kind='cubic', begin=0, end=10, interval=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        SparsitySchedule(**args)


class Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.block = nn.Sequential(nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16),
                                   nn.Conv2d(16, 16, 1))
        self.fc1 = nn.Linear(16, 32)
        self.tied = nn.Linear(16, 32)
        self.tied.weight = self.fc1.weight
        self.head = nn.Linear(32, 10)


def _names(layers):
    return [l.name for l in layers]


def test_first_and_last_excluded_by_registration_order():
    layers, skipped = select_layers(Net(), 0.5, 4)
    assert _names(layers) == ['block.0', 'block.2', 'fc1']
    assert skipped == {'stem': 'first layer', 'head': 'last layer',
                       'tied': 'shares its weight with a selected layer'}
    assert layers[0].param_name == 'block.0.weight'
    layers, _ = select_layers(Net(), 0.5, 4, exclude_first_last=False)
    assert _names(layers) == ['stem', 'block.0', 'block.2', 'fc1', 'head']


def test_types_patterns_and_per_layer_targets():
    layers, skipped = select_layers(
        Net(), 0.5, 4, layer_types=['Conv2d'], exclude_first_last=False,
        exclude=[r'^stem$'],
        layer_cfgs=[dict(name=r'block\.2', sparsity=0.9, bank_size=8)])
    assert _names(layers) == ['block.0', 'block.2']
    assert skipped == {'stem': 'exclude'}
    assert (layers[0].sparsity, layers[0].bank_size) == (0.5, 4)
    assert (layers[1].sparsity, layers[1].bank_size) == (0.9, 8)
    layers, _ = select_layers(Net(), 0.5, 4, include=[r'^fc'])
    assert _names(layers) == ['fc1']
    # first/last are the model's first/last weight layers, whatever the types
    layers, skipped = select_layers(Net(), 0.5, 4, layer_types=['Linear'])
    assert _names(layers) == ['fc1'] and skipped['head'] == 'last layer'


@pytest.mark.parametrize('kwargs,message', [
    (dict(layer_types=['Conv5d']), r"'Conv5d' is not a torch\.nn module"),
    (dict(include=['backbone']), r"include: pattern 'backbone' matches no"),
    (dict(exclude=['neck']), r"exclude: pattern 'neck'"),
    (dict(layer_cfgs=[dict(name='fc1', sparsty=0.9)]),
     r"unknown: \['sparsty'\]"),
    (dict(layer_cfgs=[dict(name='fc1', sparsity=2)]),
     r"layer_cfgs\['fc1'\]\.sparsity=2"),
    (dict(layer_types=['Conv3d']), r'no module of layer_types'),
    (dict(include=['stem']), r'no layer is left'),
])
def test_bad_selection(kwargs, message):
    with pytest.raises(ValueError, match=message):
        select_layers(Net(), 0.5, 4, **kwargs)


def test_mmcv_wrappers_count_as_their_torch_class():
    from mmcv.cnn import ConvModule
    model = nn.Sequential(ConvModule(3, 8, 3), ConvModule(8, 8, 3),
                          ConvModule(8, 8, 3))
    layers, _ = select_layers(model, 0.5, 8)
    assert _names(layers) == ['1.conv']
    assert isinstance(layers[0].weight, torch.nn.Parameter)
