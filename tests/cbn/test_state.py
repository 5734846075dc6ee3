"""Checkpoint safety of the CBN state (window, gradients, weights, counter).

* a state dict restores a layer exactly: training continues bit for bit as
  if uninterrupted, through torch's state_dict and mmengine's
  get_state_dict + weights_to_cpu + weights-only torch.load;
* an ordinary BatchNorm checkpoint (ImageNet ResNet) loads into a CBN model
  strictly, with empty CBN state;
* the state is not a buffer (DDP never broadcasts it: every process keeps
  its own statistics), moves with .to(), survives deepcopy.
"""
import copy
import io

import pytest
import torch
from mmengine.runner.checkpoint import (get_state_dict, load_state_dict,
                                        weights_to_cpu)
from torch import nn

from visrep.projects.cbn import CBN, CBNBindingError


def _net(seed=0, channels=6):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), CBN(channels, buffer_num=3),
        nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1, groups=2),
        CBN(channels, buffer_num=3, burnin=2))


def _steps(net, optimizer, batches):
    outputs = []
    for x in batches:
        out = net(x)
        optimizer.zero_grad()
        out.pow(2).mean().backward()
        optimizer.step()
        outputs.append(out.detach())
    return outputs


def _batches(n, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 3, 6, 6, generator=generator) for _ in range(n)]


def _round_trip(state_dict):
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize('save', ['torch', 'mmengine'])
def test_state_dict_resumes_bit_for_bit(save):
    net = _net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    _steps(net, optimizer, _batches(5, seed=1))
    assert len(net[1].window) == 3 and len(net[4].window) == 3
    state = net.state_dict() if save == 'torch' else weights_to_cpu(
        get_state_dict(net))
    state = _round_trip(state)
    assert int(state['4.cbn_counters'][0]) == 5  # iter_count
    restored = _net(seed=123)
    if save == 'torch':
        restored.load_state_dict(state, strict=True)
    else:
        load_state_dict(restored, state, strict=True)
    optimizer_restored = torch.optim.SGD(restored.parameters(), lr=0.1,
                                         momentum=0.9)
    optimizer_restored.load_state_dict(_round_trip(optimizer.state_dict()))
    later = _batches(4, seed=2)
    expected = _steps(net, optimizer, later)
    got = _steps(restored, optimizer_restored, later)
    for a, b in zip(expected, got):
        assert torch.equal(a, b)
    for (name, a), b in zip(net.state_dict().items(),
                            restored.state_dict().values()):
        assert torch.equal(a, b), name


def test_state_is_not_a_buffer_and_follows_the_module():
    net = _net()
    _steps(net, torch.optim.SGD(net.parameters(), lr=0.1), _batches(2, 1))
    buffers = dict(net.named_buffers())
    assert not any('cbn_' in name for name in buffers)
    assert '1.cbn_dnu' in net.state_dict()
    net.double()
    assert net[1].window.state()['mu'].dtype == torch.float64
    assert net[1].window.state()['dnu'].dtype == torch.float64
    twin = copy.deepcopy(net)
    _steps(twin, torch.optim.SGD(twin.parameters(), lr=0.1),
           [x.double() for x in _batches(2, 3)])  # binds to its own convs
    assert twin[1]._bound_weight is twin[0].weight


def test_imagenet_batchnorm_checkpoint_loads_into_cbn_resnet():
    from mmpretrain.models.backbones import ResNet
    bn_state = ResNet(depth=18).state_dict()
    cbn_model = ResNet(depth=18, norm_cfg=dict(type='visrep.CBN',
                                               buffer_num=3))
    result = cbn_model.load_state_dict(bn_state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    load_state_dict(cbn_model, bn_state, strict=True)  # mmengine: no error
    assert all(len(m.window) == 0 and m.iter_count == 0
               for m in cbn_model.modules() if isinstance(m, CBN))


def test_partial_or_mismatched_state_is_an_error():
    net = _net()
    _steps(net, torch.optim.SGD(net.parameters(), lr=0.1), _batches(2, 1))
    state = net.state_dict()
    partial = {k: v for k, v in state.items() if k != '1.cbn_dnu'}
    with pytest.raises(RuntimeError, match='needs all of'):
        _net().load_state_dict(partial)
    wider = nn.Sequential(nn.Conv2d(3, 6, 5, padding=2), CBN(6, buffer_num=3))
    wider[1].load_state_dict({k[2:]: v for k, v in state.items()
                              if k.startswith('1.')})
    with pytest.raises(CBNBindingError, match='shape'):
        wider(torch.randn(2, 3, 6, 6))

