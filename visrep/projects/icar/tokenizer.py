"""Byte-level BPE tokenizer of CLIP, read from the vocabulary open_clip ships.

No download: the merges file ``bpe_simple_vocab_16e6.txt.gz`` is part of the
``open_clip_torch`` wheel (the same file as openai/CLIP's).  It is located
with ``importlib.util.find_spec`` and read directly, so ``open_clip`` itself
(torch, timm and huggingface_hub imports) is never imported.

Hand-written rather than ``open_clip.tokenizer.SimpleTokenizer`` because
importing that imports all of ``open_clip`` (timm, huggingface_hub, its model
registry: ~3 s more CPU per process here, paid by every tool start and
dataloader worker) for ~80 lines; its ids are the test's reference.

The algorithm is CLIP's (Radford et al. 2021, ``clip/simple_tokenizer.py``):
ftfy + HTML unescape, whitespace collapse, lower case; words split by the
CLIP regex; every byte mapped to a printable unicode character; greedy
merges in rank order; ``<start_of_text> ids <end_of_text>``, truncated to the
context length (the last kept token becomes ``<end_of_text>``), zero padded.
"""
import functools
import gzip
import html
import importlib.util
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from visrep.extras import (MissingExtraError, install_hint, missing_modules,
                           requires_extra)

VOCAB_FILE = 'bpe_simple_vocab_16e6.txt.gz'
#: merges used by CLIP: the vocabulary is 256 bytes x 2 + merges + 2 = 49408
NUM_MERGES = 49152 - 256 - 2
SOT, EOT = '<start_of_text>', '<end_of_text>'


def default_vocab_path() -> str:
    """The merges file inside the installed ``open_clip`` package."""
    missing = missing_modules('icar')
    if 'open_clip' in missing:
        raise MissingExtraError(
            'the CLIP BPE vocabulary comes with the open_clip_torch package, '
            f'which is not installed: {install_hint("icar")}, or pass '
            f'vocab_path= to a local {VOCAB_FILE}.')
    spec = importlib.util.find_spec('open_clip')
    path = osp.join(list(spec.submodule_search_locations)[0], VOCAB_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing from open_clip_torch; '
                                'reinstall it or pass vocab_path=.')
    return path


def byte_to_unicode() -> Dict[int, str]:
    """Each byte -> a printable character, in CLIP's vocabulary order.

    Printable bytes map to themselves and come first; control and space
    bytes follow, mapped past the Latin-1 range (256, 257, ...).
    """
    keep = (list(range(ord('!'), ord('~') + 1)) +
            list(range(ord('\xa1'), ord('\xac') + 1)) +
            list(range(ord('\xae'), ord('\xff') + 1)))
    table = {b: chr(b) for b in keep}
    for extra, b in enumerate(b for b in range(256) if b not in table):
        table[b] = chr(256 + extra)
    return table


@functools.lru_cache(maxsize=4)
def _load(vocab_path: str) -> Tuple[Dict[str, int], Dict[Tuple[str, str],
                                                          int]]:
    with gzip.open(vocab_path, 'rt', encoding='utf-8') as f:
        lines = f.read().split('\n')
    merges = [tuple(line.split()) for line in lines[1:NUM_MERGES + 1]]
    symbols = list(byte_to_unicode().values())
    symbols += [s + '</w>' for s in symbols]
    symbols += [''.join(m) for m in merges] + [SOT, EOT]
    vocab = {s: i for i, s in enumerate(symbols)}
    ranks = {m: i for i, m in enumerate(merges)}
    return vocab, ranks


class BPETokenizer:
    """CLIP's BPE tokenizer (vocabulary 49,408; pad id 0).

    Args:
        context_length: tokens per text including start and end markers.
        vocab_path: merges file (default: the one open_clip ships).
        lower: lower-case the text (CLIP and the iCAR heads do).
    """

    def __init__(self, context_length: int = 32,
                 vocab_path: Optional[str] = None, lower: bool = True):
        with requires_extra('icar', 'visrep.projects.icar.BPETokenizer'):
            import ftfy  # noqa: F401  (a runtime requirement; fail early)
            import regex
        if context_length < 2:
            raise ValueError(f'context_length={context_length}: at least 2 '
                             '(start and end markers).')
        self.context_length = context_length
        self.lower = lower
        self.vocab, self.ranks = _load(vocab_path or default_vocab_path())
        self.byte_table = byte_to_unicode()
        self.sot, self.eot = self.vocab[SOT], self.vocab[EOT]
        self.pattern = regex.compile(
            r"""<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|"""
            r"""[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE)
        self._words: Dict[str, List[int]] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def clean(self, text: str) -> str:
        import ftfy
        text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
        text = ' '.join(text.split())
        return text.lower() if self.lower else text

    def _merge(self, word: str) -> List[int]:
        """BPE of one pre-split word (cached)."""
        if word in self._words:
            return self._words[word]
        symbols = [self.byte_table[b] for b in word.encode('utf-8')]
        parts = symbols[:-1] + [symbols[-1] + '</w>']
        while len(parts) > 1:
            pairs = {(a, b) for a, b in zip(parts, parts[1:])}
            best = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        ids = [self.vocab[p] for p in parts]
        self._words[word] = ids
        return ids

    def encode(self, text: str) -> List[int]:
        """Token ids of ``text`` without start/end markers or truncation."""
        ids = []
        for word in self.pattern.findall(self.clean(text)):
            ids += self._merge(word)
        return ids

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """``(len(texts), context_length)`` int64 ids, zero padded."""
        if isinstance(texts, str):
            texts = [texts]
        out = torch.zeros(len(texts), self.context_length, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = [self.sot] + self.encode(text) + [self.eot]
            if len(ids) > self.context_length:
                ids = ids[:self.context_length]
                ids[-1] = self.eot
            out[row, :len(ids)] = torch.tensor(ids)
        return out
