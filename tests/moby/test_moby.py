"""MoBY: loss, momentum schedule, queues, target encoder -- against direct formulas."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from visrep.projects.moby import contrastive_loss, cosine_momentum

SWIN = dict(embed_dims=16, depths=[2, 2], num_heads=[1, 2])


def _moby(drop_path=0.2, queue_len=16, total=10, **kwargs):
    from mmpretrain.registry import MODELS
    cfg = dict(
        type='visrep.MoBY',
        backbone=dict(type='visrep.SwinTransformerV1', arch=SWIN,
                      img_size=32, window_size=4, out_indices=(1, ),
                      drop_path_rate=drop_path),
        neck=dict(type='visrep.MoBYMLP', in_channels=32, hid_channels=64,
                  out_channels=8),
        head=dict(type='visrep.MoBYHead', temperature=0.2,
                  predictor=dict(type='visrep.MoBYMLP', in_channels=8,
                                 hid_channels=64, out_channels=8)),
        queue_len=queue_len, feat_dim=8, momentum_total_iters=total,
        data_preprocessor=dict(type='SelfSupDataPreprocessor',
                               mean=[0., 0., 0.], std=[1., 1., 1.]))
    cfg.update(kwargs)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def _views(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, 3, 32, 32, generator=g) for _ in range(2)]


def test_contrastive_loss_equals_the_direct_formula():
    torch.manual_seed(0)
    q = F.normalize(torch.randn(5, 8), dim=1)
    k = F.normalize(torch.randn(5, 8), dim=1)
    queue = F.normalize(torch.randn(8, 12), dim=0)
    t = 0.2
    direct = 0.0
    for n in range(5):
        pos = math.exp(float(q[n] @ k[n]) / t)
        neg = sum(math.exp(float(q[n] @ queue[:, j]) / t) for j in range(12))
        direct += -math.log(pos / (pos + neg))
    assert contrastive_loss(q, k, queue, t).item() == pytest.approx(
        direct / 5, rel=1e-5)


def test_symmetric_loss_uses_the_other_view_keys_and_queue():
    torch.manual_seed(0)
    model = _moby(drop_path=0.0)
    views = _views()
    queue1, queue2 = model.queue1.clone(), model.queue2.clone()
    target = {k: v.clone() for k, v in model.state_dict().items()}
    loss = model.loss(views, None)['loss']

    # recompute by hand from a copy of the state before the step
    torch.manual_seed(0)
    ref = _moby(drop_path=0.0)
    ref.load_state_dict(target)
    m = cosine_momentum(0.99, 0, 10)
    with torch.no_grad():
        for (name, p), (_, pk) in zip(
                list(ref.backbone.named_parameters()) +
                list(ref.neck.named_parameters()),
                list(ref.target_backbone.named_parameters()) +
                list(ref.target_neck.named_parameters())):
            pk.copy_(pk * m + p * (1 - m))

    def embed(encoder, projector, x):
        return projector(encoder(x)[-1].mean(dim=(2, 3)))

    q1 = F.normalize(ref.head.predictor(embed(ref.backbone, ref.neck,
                                              views[0])), dim=1)
    q2 = F.normalize(ref.head.predictor(embed(ref.backbone, ref.neck,
                                              views[1])), dim=1)
    with torch.no_grad():
        k1 = F.normalize(embed(ref.target_backbone, ref.target_neck,
                               views[0]), dim=1)
        k2 = F.normalize(embed(ref.target_backbone, ref.target_neck,
                               views[1]), dim=1)
    direct = contrastive_loss(q1, k2, queue2, 0.2) + \
        contrastive_loss(q2, k1, queue1, 0.2)
    torch.testing.assert_close(loss, direct)
    # the keys computed *after* the momentum step went into the queues
    torch.testing.assert_close(model.queue1[:, :4], k1.T)
    torch.testing.assert_close(model.queue2[:, :4], k2.T)


def test_momentum_schedule_start_middle_end():
    assert cosine_momentum(0.99, 0, 100) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 50, 100) == pytest.approx(0.995)
    assert cosine_momentum(0.99, 100, 100) == pytest.approx(1.0)
    assert cosine_momentum(0.99, 25, 100) == pytest.approx(
        1 - 0.01 * (math.cos(math.pi / 4) + 1) / 2)
    values = [cosine_momentum(0.99, k, 100) for k in range(101)]
    assert all(a < b for a, b in zip(values, values[1:]))


def test_one_update_per_iteration_before_the_keys():
    model = _moby(drop_path=0.0, total=4)
    logged = []
    for step in range(4):
        before_t = model.target_neck.linear_out.weight.clone()
        online = model.neck.linear_out.weight.clone()
        out = model.loss(_views(seed=step), None)
        logged.append(out['ema_momentum'].item())
        m = cosine_momentum(0.99, step, 4)
        torch.testing.assert_close(model.target_neck.linear_out.weight,
                                   before_t * m + online * (1 - m))
        assert int(model.momentum_step) == step + 1
    assert logged == pytest.approx([cosine_momentum(0.99, k, 4)
                                    for k in range(4)])


def test_total_iterations_come_from_the_runner():
    from mmengine.logging import MessageHub
    model = _moby(total=None)
    MessageHub.get_current_instance().update_info('max_iters', 40)
    assert model.total_steps() == 40
    MessageHub.get_current_instance().update_info('max_iters', None)
    with pytest.raises(RuntimeError, match='momentum_total_iters'):
        model.total_steps()


def test_queues_fill_in_order_and_wrap():
    model = _moby(queue_len=8)
    initial = model.queue1.clone()
    assert torch.allclose(initial.norm(dim=0), torch.ones(8))  # normalised
    k1 = [F.normalize(torch.randn(4, 8), dim=1) for _ in range(3)]
    k2 = [F.normalize(torch.randn(4, 8), dim=1) for _ in range(3)]
    model._dequeue_and_enqueue(k1[0], k2[0])
    assert int(model.queue_ptr) == 4
    torch.testing.assert_close(model.queue1[:, :4], k1[0].T)
    torch.testing.assert_close(model.queue1[:, 4:], initial[:, 4:])
    torch.testing.assert_close(model.queue2[:, :4], k2[0].T)
    model._dequeue_and_enqueue(k1[1], k2[1])
    assert int(model.queue_ptr) == 0
    model._dequeue_and_enqueue(k1[2], k2[2])  # oldest keys replaced
    torch.testing.assert_close(model.queue1, torch.cat([k1[2], k1[1]]).T)
    with pytest.raises(ValueError, match='queue_len=8 is not a multiple'):
        model._dequeue_and_enqueue(k1[0][:3], k2[0][:3])


def test_separate_target_encoder_copied_at_init_without_gradients():
    model = _moby(drop_path=0.2)
    online_rates = [b.ffn.dropout_layer.drop_prob
                    for s in model.backbone.stages for b in s.blocks]
    target_rates = [b.ffn.dropout_layer.drop_prob
                    for s in model.target_backbone.stages for b in s.blocks]
    assert online_rates[-1] == pytest.approx(0.2) and max(target_rates) == 0
    for (name, p), (_, pk) in zip(model.backbone.named_parameters(),
                                  model.target_backbone.named_parameters()):
        assert torch.equal(p, pk), name
        assert p.requires_grad and not pk.requires_grad
    assert not any(p.requires_grad for p in model.target_neck.parameters())
    loss = model.loss(_views(), None)['loss']
    loss.backward()
    assert all(p.grad is None for p in model.target_backbone.parameters())
    assert model.head.predictor.linear_out.weight.grad is not None


def test_state_dict_carries_queues_pointer_and_step():
    model = _moby()
    model.loss(_views(), None)
    state = model.state_dict()
    for key in ('queue1', 'queue2', 'queue_ptr', 'momentum_step'):
        assert key in state
    fresh = _moby()
    fresh.load_state_dict(state)
    assert int(fresh.momentum_step) == 1 and int(fresh.queue_ptr) == 4
    torch.testing.assert_close(fresh.queue1, model.queue1)


def test_two_views_are_required():
    model = _moby()
    with pytest.raises(ValueError, match='MultiView'):
        model.loss(torch.randn(2, 3, 32, 32), None)
