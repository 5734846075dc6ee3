"""iCAR's joint loss on a hand-built batch, term by term:
``L = L_cls + lambda * L_itc`` where L_cls is the cosine-softmax
cross-entropy of the labelled rows only, L_itc CLIP's symmetric InfoNCE of
the caption rows only, lambda scales L_itc alone, and the contrastive
temperature is the classifier's unless ``itc_temperature`` is set."""
import pytest
import torch

from visrep.projects.icar import ICAR
from _helpers.samples import labelled_samples

TEXT = dict(type='visrep.ICARTextTransformer', embed_dim=16, width=32,
            layers=1, heads=2, context_length=16)
# no stochastic depth: training mode is deterministic
BACKBONE = dict(type='visrep.SwinTransformerV2', img_size=32, window_size=4,
                drop_path_rate=0.0,
                arch=dict(embed_dims=8, depths=(1, 1, 1, 1),
                          num_heads=(1, 1, 1, 1)))
NAMES = ['tench', 'goldfish', 'great white shark']
DESCRIPTIONS = {'tench': 'a fish', 'goldfish': 'a small orange fish',
                'great white shark': 'a large shark'}
# labelled and caption rows interleaved, so that a split by position fails
LABELS = [-1, 2, 0, -1, 1, -1]
CAPTIONS = ['a red circle', None, None, 'a blue square', None, 'a cat']


def _model(**kwargs) -> ICAR:
    torch.manual_seed(0)
    # one template: the training-time template draw is the identity
    return ICAR(backbone=BACKBONE, text_encoder=TEXT, image_channels=64,
                embed_dim=16,
                class_text=dict(classes=NAMES, descriptions=DESCRIPTIONS,
                                templates=['{}']),
                **kwargs).train()


def _batch():
    images = torch.randn(len(LABELS), 3, 32, 32,
                         generator=torch.Generator().manual_seed(1))
    return images, labelled_samples(LABELS, CAPTIONS)


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True)


def _expected_terms(model: ICAR, images: torch.Tensor, itc_scale: float):
    """L_cls and L_itc written out, from the model's two encoders."""
    with torch.no_grad():
        v = _unit(model.extract_feat(images, 'embedding'))
        w = _unit(model.text_encoder(
            [f'{n}: {DESCRIPTIONS[n]}' for n in NAMES]))
        labelled = [i for i, y in enumerate(LABELS) if y >= 0]
        l_cls = sum(torch.logsumexp(20.0 * v[i] @ w.t(), 0) -
                    20.0 * v[i] @ w[LABELS[i]]
                    for i in labelled) / len(labelled)
        rows = [i for i, c in enumerate(CAPTIONS) if c is not None]
        t = _unit(model.text_encoder([CAPTIONS[i] for i in rows]))
        sim = itc_scale * v[rows] @ t.t()  # image k vs caption j
        l_itc = sum((torch.logsumexp(sim[k], 0) - sim[k, k]) / 2 +
                    (torch.logsumexp(sim[:, k], 0) - sim[k, k]) / 2
                    for k in range(len(rows))) / len(rows)
    return l_cls.item(), l_itc.item()


@pytest.mark.parametrize('itc_weight,itc_temperature,itc_scale', [
    (1.0, None, 20.0), (0.25, None, 20.0), (0.25, 0.1, 10.0)],
    ids=['lambda1-shared-T', 'lambda0.25-shared-T', 'lambda0.25-T0.1'])
def test_joint_loss_is_cls_plus_lambda_itc(itc_weight, itc_temperature,
                                           itc_scale):
    model = _model(itc_weight=itc_weight, itc_temperature=itc_temperature)
    images, samples = _batch()
    losses = model.loss(images, samples)
    l_cls, l_itc = _expected_terms(model, images, itc_scale)
    assert set(losses) == {'loss_cls', 'loss_itc'}
    assert losses['loss_cls'].item() == pytest.approx(l_cls, rel=1e-5)
    assert losses['loss_itc'].item() == pytest.approx(itc_weight * l_itc,
                                                      rel=1e-5)
    total, _ = model.parse_losses(losses)
    assert total.item() == pytest.approx(l_cls + itc_weight * l_itc,
                                         rel=1e-5)
    # the shared temperature is 0.05 (scale 20) and a set one differs
    if itc_temperature is not None:
        assert _expected_terms(model, images, 20.0)[1] != pytest.approx(
            l_itc, rel=1e-3)
