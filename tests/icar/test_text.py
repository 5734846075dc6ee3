"""Class text, tokenizer and text encoder.

* ``"name: description"`` from timm's offline WordNet tables equals timm's
  own ``label_descriptions(detailed=True)``; a user JSON works for any class
  list; a class without a description raises naming it and the fix, or
  falls back to its name when asked;
* the tokenizer reads open_clip's bundled BPE file without importing
  open_clip and gives open_clip's ``SimpleTokenizer`` ids (an independent
  implementation of CLIP's tokenizer);
* masked mean pooling ignores the padding.
"""
import json
import subprocess
import sys

import pytest
import torch

from visrep.projects.icar import (BPETokenizer, TextTransformer, class_texts,
                           load_class_names, load_descriptions, masked_mean,
                           resolve_templates)
from visrep.projects.icar.text_classifier import ClassTextSet
from _helpers import REPO_ROOT

TEXTS = [
    'a photo of a tench: freshwater dace-like game fish.',
    "It's   the  café's CRÈME brûlée!  ",
    'electric ray, crampfish, numbfish, torpedo: 100 volts &amp; more',
    '日本語のテキスト and emoji 🐟',
    '',
]


def test_timm_descriptions_match_timm():
    from timm.data import ImageNetInfo
    info = ImageNetInfo('imagenet-1k')
    names = load_class_names('timm:imagenet-1k')
    assert len(names) == 1000 and names[0] == 'tench, Tinca tinca'
    texts = class_texts(names, load_descriptions('timm:imagenet-1k'))
    assert texts == info.label_descriptions(detailed=True)
    # by WordNet id as well
    by_id = load_descriptions('timm:imagenet-1k')
    assert by_id['n01440764'] == texts[0].split(': ', 1)[1]
    # the two 'crane' synsets (bird, machine) keep their own glosses
    cranes = [t for t in texts if t.startswith('crane: ')]
    assert len(cranes) == 2 and cranes[0] != cranes[1]


def test_user_json_and_missing_descriptions(tmp_path):
    path = tmp_path / 'descriptions.json'
    path.write_text(json.dumps({'red circle': 'a round red shape'}))
    table = load_descriptions(str(path))
    assert class_texts(['red circle'], table) == \
        ['red circle: a round red shape']
    with pytest.raises(KeyError, match="blue square.* has no description"):
        class_texts(['red circle', 'blue square'], table)
    assert class_texts(['red circle', 'blue square'], table,
                       missing='name') == ['red circle: a round red shape',
                                           'blue square']
    assert class_texts(['blue square'], table, mode='name') == ['blue square']
    with pytest.raises(FileNotFoundError, match='descriptions'):
        load_descriptions(str(tmp_path / 'nope.json'))
    with pytest.raises(ValueError, match='description_mode'):
        class_texts(['a'], {}, mode='gloss')
    names = tmp_path / 'classes.txt'
    names.write_text('red circle\n\nblue square\n')
    assert load_class_names(str(names)) == ['red circle', 'blue square']
    text_set = ClassTextSet(str(names), str(path), missing_description='name')
    assert text_set.texts == ['red circle: a round red shape', 'blue square']


def test_templates():
    assert len(resolve_templates('video')) == 24
    assert len(resolve_templates('openai_imagenet')) == 80
    with pytest.raises(ValueError, match='exactly one'):
        resolve_templates(['a {} of {}'])
    with pytest.raises(KeyError, match='unknown template set'):
        resolve_templates('imagenet_cupl')


def test_tokenizer_matches_open_clip_without_importing_it():
    probe = ('import sys; from visrep.projects.icar.tokenizer import BPETokenizer; '
             'BPETokenizer(); print("open_clip" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', probe], cwd=REPO_ROOT,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'False'  # reads the file, no import
    tok = BPETokenizer(context_length=20)
    assert tok.vocab_size == 49408
    from open_clip.tokenizer import SimpleTokenizer
    ref = SimpleTokenizer(context_length=20)
    for text in TEXTS:
        assert tok.encode(text) == ref.encode(text), text
    torch.testing.assert_close(tok(TEXTS), ref(TEXTS, context_length=20))


def test_masked_mean_ignores_padding_and_encoder_is_padding_invariant():
    x = torch.randn(2, 4, 3)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    out = masked_mean(x, mask)
    torch.testing.assert_close(out[0], x[0, :2].mean(0))
    torch.testing.assert_close(out[1], x[1].mean(0))
    torch.manual_seed(0)
    enc = TextTransformer(embed_dim=8, width=16, layers=1, heads=2,
                          context_length=16).eval()
    short, long = 'a fish', 'a very long description of a striped fish'
    alone = enc([short])
    batched = enc([short, long])[0]  # padded to the longer text
    torch.testing.assert_close(alone[0], batched, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match='pooling'):
        TextTransformer(pooling='cls')
