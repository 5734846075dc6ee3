"""The shared formula: cosine logits, text-generated weights, templates.

* the logits of ``visrep.ICAR`` equal ``20 * cos(v, w_c)`` computed element
  by element from the image embedding and the text embeddings of the class
  prompts;
* the classification loss sends gradients into the text encoder (deep
  fusion), and not when the shallow-fusion linear head classifies;
* in training one template is drawn per class per step (deterministic in
  ``(seed, step)``), at test the weight is the re-normalised mean of the
  normalised embeddings over all templates, cached until a parameter moves;
* the symmetric contrastive loss equals CLIP's formula written out.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from visrep.projects.icar import ICAR, LogitScale, TextCosineClassifier
from visrep.projects.icar.alignment import image_text_contrastive_loss
from _helpers.samples import labelled_samples

TEXT = dict(type='visrep.ICARTextTransformer', embed_dim=16, width=32,
            layers=1, heads=2, context_length=16)
BACKBONE = dict(type='visrep.SwinTransformerV2', img_size=32, window_size=4,
                arch=dict(embed_dims=8, depths=(1, 1, 1, 1),
                          num_heads=(1, 1, 1, 1)))
NAMES = ['tench', 'goldfish', 'great white shark']
DESCRIPTIONS = {'tench': 'a fish', 'goldfish': 'a small orange fish',
                'great white shark': 'a large shark'}
TEMPLATES = ['a photo of a {}.', 'a drawing of a {}.', '{}']


def _model(**kwargs) -> ICAR:
    torch.manual_seed(0)
    cfg = dict(backbone=BACKBONE, text_encoder=TEXT, image_channels=64,
               embed_dim=16,
               class_text=dict(classes=NAMES, descriptions=DESCRIPTIONS,
                               templates=TEMPLATES))
    cfg.update(kwargs)
    return ICAR(**cfg)


def test_cosine_logits_equal_a_direct_computation():
    model = _model().eval()
    images = torch.randn(4, 3, 32, 32)
    logits = model(images)
    v = model.extract_feat(images, 'embedding')
    texts = [f'{n}: {DESCRIPTIONS[n]}' for n in NAMES]
    for c, text in enumerate(texts):
        emb = model.text_encoder([t.format(text) for t in TEMPLATES])
        unit = [e / e.norm() for e in emb]
        w = sum(unit) / len(unit)
        w = w / w.norm()
        for i in range(len(images)):
            expected = 20.0 * torch.dot(v[i], w) / v[i].norm()
            assert logits[i, c].item() == pytest.approx(expected.item(),
                                                        abs=1e-4)


def test_temperature_fixed_by_default_learnable_as_an_option():
    fixed = LogitScale(0.05)
    assert not fixed.logit_scale.requires_grad
    assert fixed().item() == pytest.approx(20.0)
    learned = LogitScale(0.07, learnable=True)
    learned().backward()
    assert learned.logit_scale.grad.item() == pytest.approx(1 / 0.07)
    assert LogitScale(0.001)().item() == pytest.approx(100.0)  # CLIP clamp
    with pytest.raises(ValueError, match='temperature'):
        LogitScale(0.0)


def test_classification_trains_the_text_encoder():
    model = _model(itc_weight=0.0).train()
    losses = model.loss(torch.randn(4, 3, 32, 32),
                        labelled_samples([0, 1, 2, 1]))
    assert set(losses) == {'loss_cls'}
    losses['loss_cls'].backward()
    enc = model.text_encoder
    assert enc.projection.weight.grad.abs().sum() > 0
    assert enc.transformer.layers[0].linear1.weight.grad.abs().sum() > 0
    # only the tokens of the class prompts receive an embedding gradient
    used = set()
    for text in (f'{n}: {d}' for n, d in DESCRIPTIONS.items()):
        for t in TEMPLATES:
            used |= set(enc.tokenizer([t.format(text)])[0].tolist())
    rows = enc.token_embedding.weight.grad.abs().sum(1).nonzero().flatten()
    assert len(rows) > 0 and set(rows.tolist()) <= used


def test_shallow_fusion_head_does_not_train_the_text_encoder():
    model = _model(itc_weight=0.0, classifier='linear',
                   linear=dict(num_classes=3)).train()
    loss = model.loss(torch.randn(4, 3, 32, 32),
                      labelled_samples([0, 1, 2, 1]))
    loss['loss_cls'].backward()
    assert model.linear_head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.text_encoder.parameters())


def _recording(classifier):
    calls = []
    forward = classifier.text_encoder.forward

    def record(texts):
        calls.append(list(texts))
        return forward(texts)

    classifier.text_encoder.forward = record
    return calls


def _classifier(**kwargs):
    torch.manual_seed(0)
    return TextCosineClassifier(
        TEXT, dict(classes=NAMES, descriptions=DESCRIPTIONS,
                   templates=TEMPLATES), **kwargs)


def test_one_template_is_sampled_per_class_per_step_in_training():
    head = _classifier().train()
    calls = _recording(head)
    features = torch.randn(2, 16)
    for _ in range(12):
        head(features)
    assert len(calls) == 12 and all(len(c) == len(NAMES) for c in calls)
    chosen = set()
    for prompts in calls:
        for name, prompt in zip(NAMES, prompts):
            text = f'{name}: {DESCRIPTIONS[name]}'
            matches = [t for t in TEMPLATES if t.format(text) == prompt]
            assert len(matches) == 1, prompt
            chosen.add((name, matches[0]))
    assert len(chosen) == len(NAMES) * len(TEMPLATES)  # all get drawn
    # the draw depends on (seed, step) only: a fresh head repeats it
    again = _classifier().train()
    calls_again = _recording(again)
    for _ in range(12):
        again(features)
    assert calls_again == calls
    other = _classifier(seed=1).train()
    calls_other = _recording(other)
    for _ in range(12):
        other(features)
    assert calls_other != calls


def test_templates_are_averaged_at_test_and_cached():
    head = _classifier().eval()
    calls = _recording(head)
    weights = head.test_weights()
    assert len(calls) == 1 and len(calls[0]) == len(NAMES) * len(TEMPLATES)
    with torch.no_grad():
        for c, name in enumerate(NAMES):
            text = f'{name}: {DESCRIPTIONS[name]}'
            emb = F.normalize(head.text_encoder(
                [t.format(text) for t in TEMPLATES]), dim=-1)
            expected = F.normalize(emb.mean(0), dim=0)
            torch.testing.assert_close(weights[c], expected)
    calls.clear()
    head(torch.randn(2, 16))
    assert calls == []  # cached
    with torch.no_grad():
        head.text_encoder.projection.weight.mul_(2.0)
    head(torch.randn(2, 16))
    assert len(calls) == 1  # a parameter changed: recomputed


def test_test_class_list_is_separate_from_the_training_one():
    head = TextCosineClassifier(
        TEXT, dict(classes=NAMES, description_mode='name'),
        dict(classes=['hen', 'cock', 'ostrich', 'stingray'],
             description_mode='name'))
    assert head.train()(torch.randn(2, 16)).shape == (2, 3)
    assert head.eval()(torch.randn(2, 16)).shape == (2, 4)


def test_evaluation_classes_from_the_dataset_leave_the_training_ones():
    """Filling a dataset-class classifier's evaluation list, as
    ICARClassNamesHook does before validation, gives it a test list of its
    own: the training list keeps its names."""
    from visrep.projects.icar.text_classifier import dataset_eval_class_texts
    head = TextCosineClassifier(TEXT, dict(description_mode='name'))
    head.class_text.set_classes(NAMES)  # before_train
    targets = dataset_eval_class_texts(head)
    assert len(targets) == 1
    targets[0].set_classes(['hen', 'cock', 'ostrich', 'stingray'])
    assert head.class_text.names == list(NAMES)
    assert head.test_class_text.names == ['hen', 'cock', 'ostrich',
                                          'stingray']
    assert head.train()(torch.randn(2, 16)).shape == (2, len(NAMES))
    assert head.eval()(torch.randn(2, 16)).shape == (2, 4)


def test_contrastive_loss_equals_the_written_out_formula():
    torch.manual_seed(0)
    image, text = torch.randn(5, 8), torch.randn(5, 8)
    loss = image_text_contrastive_loss(image, text, torch.tensor(20.0))
    i = [x / x.norm() for x in image]
    t = [x / x.norm() for x in text]
    total = 0.0
    for k in range(5):
        row = torch.stack([20 * torch.dot(i[k], t[j]) for j in range(5)])
        col = torch.stack([20 * torch.dot(t[k], i[j]) for j in range(5)])
        total += (torch.logsumexp(row, 0) - row[k]) / 2
        total += (torch.logsumexp(col, 0) - col[k]) / 2
    assert loss.item() == pytest.approx(total.item() / 5, rel=1e-5)


def test_joint_loss_mixes_labelled_and_caption_samples():
    model = _model(itc_weight=0.5).train()
    samples = labelled_samples(
        [0, 2, -1, -1], [None, None, 'a red circle', 'a blue square'])
    losses = model.loss(torch.randn(4, 3, 32, 32), samples)
    assert set(losses) == {'loss_cls', 'loss_itc'}
    assert math.isfinite(losses['loss_itc'].item())
    # only caption samples: the classification term is a graph-keeping zero
    only = model.loss(torch.randn(2, 3, 32, 32),
                      labelled_samples([-1, -1], ['a red circle', 'a cat']))
    assert only['loss_cls'].item() == 0.0 and only['loss_itc'].item() > 0


def test_bad_configuration_is_named():
    with pytest.raises(ValueError, match='classifier='):
        _model(classifier='mlp')
    with pytest.raises(ValueError, match='embed_dim'):
        _model(embed_dim=32)
    with pytest.raises(ValueError, match='linear.num_classes'):
        _model(classifier='linear')
    with pytest.raises(ValueError, match='frozen='):
        _model(frozen=('head', ))
    head = TextCosineClassifier(TEXT)
    with pytest.raises(RuntimeError, match='ICARClassNamesHook'):
        head(torch.randn(1, 16))


def test_video_and_segmentation_heads_score_any_class_list():
    from visrep.projects.icar import TextFCNHead, VideoTextHead
    text = dict(text_encoder=TEXT,
                class_text=dict(classes=NAMES, description_mode='name',
                                templates='video'),
                test_class_text=dict(classes=['hen', 'cock'],
                                     description_mode='name',
                                     templates='video'))
    # each head in its toolkit's scope, as a runner builds it (an earlier
    # test may have left another scope current)
    with DefaultScope.overwrite_default_scope('mmaction'):
        video = VideoTextHead(in_channels=8, embed_dim=16,
                              text_classifier=text)
    assert video.num_classes == 3
    clips = torch.randn(2, 8, 2, 3, 3)
    assert video.train()(clips).shape == (2, 3)
    logits = video.eval()(clips)  # zero-shot on the unseen list
    emb = video.visual_proj(clips.mean((2, 3, 4)))
    expected = 20 * F.normalize(emb, dim=-1) @ \
        video.text_classifier.test_weights().t()
    torch.testing.assert_close(logits, expected)
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = TextFCNHead(text_classifier=text, embed_dim=16, in_channels=8,
                          channels=8, num_convs=1, concat_input=False)
    feat = torch.randn(2, 8, 5, 5)
    out = seg.eval().cls_seg(feat)
    pixel = F.normalize(seg.visual_proj(feat)[0, :, 1, 2], dim=0)
    assert out.shape == (2, 2, 5, 5)
    assert out[0, :, 1, 2].tolist() == pytest.approx(
        (20 * seg.text_classifier.test_weights() @ pixel).tolist(), abs=1e-5)
    with pytest.raises(ValueError, match='num_classes=4'):
        VideoTextHead(in_channels=8, embed_dim=16, num_classes=4,
                      text_classifier=text)


def test_hf_text_encoder_needs_a_local_model():
    from visrep.projects.icar import HFTextEncoder
    with pytest.raises((FileNotFoundError, ImportError),
                       match='model_path|transformers'):
        HFTextEncoder(model_path='/nonexistent/roberta-base')
