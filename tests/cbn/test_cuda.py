"""CBN on CUDA: graphs of the per-channel step and full fp32 statistics.

* The CUDA graph replays (visrep/projects/cbn/fast/cuda_graph.py) give the same
  training run as the eager operations, bit for bit, and are dropped when
  a tensor they hold moves.
* With TF32 allowed (cuDNN's default for convolutions) the window's
  gradients are still full fp32: ``<dnu, W> = 2 (var + mu <dmu, W>)``
  holds to fp32 precision (TF32 leaves 1e-3).

Needs a CUDA device (skipped elsewhere); ``benchmarks/cbn_speed_standalone.py
--device cuda`` runs the same checks where the mm* toolkits are missing.
"""
import pytest
import torch
from torch import nn

from visrep.projects.cbn import CBN

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason='needs a CUDA device')


def _run(cuda_graphs, steps=10):
    """10 steps: the window fills in 3, each of its 3 layouts then runs
    eagerly once and is captured the second time."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), CBN(8, buffer_num=3),
                        nn.ReLU(), nn.Conv2d(8, 16, 1, bias=False),
                        CBN(16, buffer_num=3, momentum=None)).cuda()
    for module in net.modules():
        if isinstance(module, CBN):
            module.cuda_graphs = cuda_graphs
    optim = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    losses = []
    for _ in range(steps):
        x = torch.randn(2, 3, 6, 6, generator=generator).cuda()
        loss = net(x).square().mean()
        loss.backward()
        optim.step()
        optim.zero_grad()
        losses.append(loss.item())
    return net, losses


def test_replays_equal_eager_bit_for_bit():
    graphed, losses = _run(True)
    eager, losses_ref = _run(False)
    assert losses == losses_ref
    state, state_ref = graphed.state_dict(), eager.state_dict()
    assert all(torch.equal(state[k], state_ref[k]) for k in state)
    assert len(graphed[1]._graphs) == 3 and len(eager[1]._graphs) == 0


def test_graphs_dropped_when_the_layer_moves():
    net, _ = _run(True)
    assert len(net[1]._graphs) == 3
    net.double()
    assert len(net[1]._graphs) == 0


def test_window_gradients_are_fp32_with_tf32_allowed():
    from visrep.projects.cbn.window import window_identity_error
    torch.manual_seed(0)
    conv = nn.Conv2d(32, 64, 3, padding=1).cuda()
    layer = CBN(64, buffer_num=2).cuda()
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    before = cudnn.allow_tf32, matmul.allow_tf32
    cudnn.allow_tf32 = matmul.allow_tf32 = True
    try:
        for _ in range(3):
            layer(conv(torch.randn(2, 32, 16, 16, device='cuda') + 1))
        assert window_identity_error(layer.window, conv.weight) < 1e-5
        assert cudnn.allow_tf32 and matmul.allow_tf32  # restored
    finally:
        cudnn.allow_tf32, matmul.allow_tf32 = before
