"""The text tower: a CLIP-style Transformer over BPE tokens, pooled and
projected.

iCAR's released text encoder (seen through its first author's downstream
heads, see README) is RoBERTa-base with **masked mean pooling** over the
tokens and a bias-free ``Linear(768, 256)``.  This module is the small,
trainable-from-scratch counterpart used by default: token + learned
position embeddings, pre-LN Transformer layers, a final LayerNorm, the same
pooling and the same bias-free projection to the joint space.
"""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import nn

from visrep.registry import MODELS
from .tokenizer import BPETokenizer

POOLINGS = ('mean', 'eot', 'first')
#: texts whose token ids are kept (class prompts repeat every step)
TOKEN_CACHE_SIZE = 65536


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens (B, L, C)`` over the positions where
    ``mask (B, L)``."""
    mask = mask.to(tokens.dtype).unsqueeze(-1)
    return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1)


class TextEncoderBase(BaseModule):
    """Strings -> ``(N, embed_dim)`` features (not normalised).

    Subclasses implement :meth:`forward_tokens`; this class tokenizes (with a
    per-string cache) and trims the padding common to the whole batch.
    """

    embed_dim: int

    def tokenize(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward_tokens(self, ids: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        if isinstance(texts, str):
            raise TypeError('give a list of strings, not one string')
        if len(texts) == 0:
            return self.empty()
        batch = self.tokenize(texts)
        device = self.device
        return self.forward_tokens(batch['ids'].to(device),
                                   batch['mask'].to(device))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def empty(self) -> torch.Tensor:
        """``(0, embed_dim)``, attached to the graph when training (so that
        a rank without texts still joins the gathers' backward under DDP)."""
        out = torch.zeros(0, self.embed_dim, device=self.device)
        trainable = [p for p in self.parameters() if p.requires_grad]
        if trainable and torch.is_grad_enabled():
            out = out + trainable[0].sum() * 0
        return out


@MODELS.register_module(name='ICARTextTransformer')
class TextTransformer(TextEncoderBase):
    """CLIP-style text Transformer with iCAR's pooling and projection.

    ``type='visrep.ICARTextTransformer'``.

    Args:
        embed_dim: joint image-text space (iCAR: 256).
        width, layers, heads, mlp_ratio: the Transformer (CLIP text tower:
            512, 12, 8, 4).
        context_length: tokens per text incl. start/end markers (the iCAR
            heads truncate RoBERTa input at 16; default 32 keeps more of the
            "name: description" text).
        pooling: ``'mean'`` masked mean over the non-padding tokens (iCAR's
            released model), ``'eot'`` the end-of-text token (CLIP, UniCL),
            ``'first'`` the start token (RoBERTa's CLS).
        causal: CLIP's causal attention mask; default ``False``
            (bidirectional, as RoBERTa in iCAR).
        lower: lower-case texts before tokenizing.
        vocab_path: BPE merges file (default: open_clip's bundled one).
    """

    def __init__(self,
                 embed_dim: int = 256,
                 width: int = 512,
                 layers: int = 12,
                 heads: int = 8,
                 mlp_ratio: float = 4.0,
                 context_length: int = 32,
                 pooling: str = 'mean',
                 causal: bool = False,
                 lower: bool = True,
                 vocab_path: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if pooling not in POOLINGS:
            raise ValueError(f'pooling={pooling!r}: choose from {POOLINGS}.')
        if width % heads:
            raise ValueError(f'width={width} must be divisible by '
                             f'heads={heads}.')
        self.embed_dim = embed_dim
        self.pooling = pooling
        self.causal = causal
        self.tokenizer = BPETokenizer(context_length, vocab_path, lower)
        self.token_embedding = nn.Embedding(self.tokenizer.vocab_size, width)
        self.positional_embedding = nn.Parameter(
            torch.empty(context_length, width))
        layer = nn.TransformerEncoderLayer(
            width, heads, int(width * mlp_ratio), dropout=0.0,
            activation='gelu', batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(
            layer, layers, enable_nested_tensor=False)
        self.ln_final = nn.LayerNorm(width)
        self.projection = nn.Linear(width, embed_dim, bias=False)
        self._token_cache: Dict[str, torch.Tensor] = {}
        self._reset_parameters(width, layers)

    def _reset_parameters(self, width: int, layers: int) -> None:
        """CLIP's initialisation (``CLIP.initialize_parameters``)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        attn_std = width**-0.5
        proj_std = attn_std * (2 * layers)**-0.5
        fc_std = (2 * width)**-0.5
        for block in self.transformer.layers:
            nn.init.normal_(block.self_attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.self_attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.linear1.weight, std=fc_std)
            nn.init.normal_(block.linear2.weight, std=proj_std)
        nn.init.normal_(self.projection.weight, std=attn_std)

    def tokenize(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        missing = [t for t in dict.fromkeys(texts)
                   if t not in self._token_cache]
        if missing:
            if len(self._token_cache) + len(missing) > TOKEN_CACHE_SIZE:
                self._token_cache.clear()  # captions: bounded memory
            for text, ids in zip(missing, self.tokenizer(missing)):
                self._token_cache[text] = ids
        ids = torch.stack([self._token_cache[t] for t in texts])
        mask = ids != 0
        length = int(mask.sum(1).max())  # trim the common padding
        return dict(ids=ids[:, :length], mask=mask[:, :length])

    def forward_tokens(self, ids: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        x = self.token_embedding(ids) + self.positional_embedding[:length]
        attn_mask = None
        if self.causal:
            attn_mask = torch.full((length, length), float('-inf'),
                                   device=ids.device).triu_(1)
        # padding is only ever at the end: with a causal mask no real token
        # attends to it, so the key padding mask is needed only without one
        x = self.transformer(
            x, mask=attn_mask,
            src_key_padding_mask=None if self.causal else ~mask)
        x = self.ln_final(x)
        if self.pooling == 'mean':
            pooled = masked_mean(x, mask)
        elif self.pooling == 'eot':
            pooled = x[torch.arange(len(x)), mask.sum(1) - 1]
        else:
            pooled = x[:, 0]
        return self.projection(pooled)


def encode_in_chunks(encoder: TextEncoderBase, texts: List[str],
                     chunk: int = 1024) -> torch.Tensor:
    """``encoder(texts)`` a chunk at a time (thousands of class prompts)."""
    if len(texts) <= chunk:
        return encoder(texts)
    return torch.cat([encoder(texts[i:i + chunk])
                      for i in range(0, len(texts), chunk)])
