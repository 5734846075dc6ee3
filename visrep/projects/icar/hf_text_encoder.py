"""Optional text tower: a local Hugging Face RoBERTa, as in iCAR's released
model.

The first author's heads build ``RobertaModel('roberta-base',
add_pooling_layer=False)``, average the token features under the attention
mask and project them with ``Linear(768, 256, bias=False)``; the tokenizer
lower-cases and truncates at 16 tokens.  This module does the same from a
model directory the user already has: nothing is downloaded
(``local_files_only=True``).
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
from torch import nn

from visrep.registry import MODELS
from .text_encoder import TextEncoderBase, masked_mean


@MODELS.register_module(name='ICARHFTextEncoder')
class HFTextEncoder(TextEncoderBase):
    """``type='visrep.ICARHFTextEncoder'``: RoBERTa (or any HF encoder).

    Args:
        model_path: a local directory with the model and tokenizer files,
            e.g. made once with ``huggingface-cli download roberta-base
            --local-dir checkpoints/roberta-base``.
        embed_dim: joint space (256 in iCAR).
        max_length: tokenizer truncation (16 in the iCAR heads).
        lower: lower-case texts first (the iCAR heads do).
    """

    def __init__(self, model_path: str, embed_dim: int = 256,
                 max_length: int = 16, lower: bool = True,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        try:
            import transformers
        except ImportError as e:
            raise ImportError(
                'visrep.ICARHFTextEncoder needs the `transformers` package '
                '(pip install transformers) and a local model directory; '
                'the default text encoder, visrep.ICARTextTransformer, '
                'needs neither.') from e
        if not osp.isdir(model_path):
            raise FileNotFoundError(
                f'text_encoder.model_path={model_path!r} is not a directory. '
                'Nothing is downloaded at run time: fetch the model once '
                '(e.g. `huggingface-cli download roberta-base --local-dir '
                f'{model_path}`) and point model_path at it.')
        self.embed_dim = embed_dim
        self.max_length = max_length
        self.lower = lower
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(
            model_path, local_files_only=True)
        kwargs = {}
        config = transformers.AutoConfig.from_pretrained(
            model_path, local_files_only=True)
        if config.model_type in ('roberta', 'bert', 'xlm-roberta'):
            kwargs['add_pooling_layer'] = False
        self.model = transformers.AutoModel.from_pretrained(
            model_path, local_files_only=True, **kwargs)
        self.projection = nn.Linear(config.hidden_size, embed_dim, bias=False)

    def tokenize(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        texts = [t.lower() if self.lower else t for t in texts]
        out = self.tokenizer(texts, padding=True, truncation=True,
                             max_length=self.max_length, return_tensors='pt')
        return dict(ids=out['input_ids'], mask=out['attention_mask'].bool())

    def forward_tokens(self, ids: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
        tokens = self.model(input_ids=ids,
                            attention_mask=mask.long()).last_hidden_state
        return self.projection(masked_mean(tokens, mask))
