"""State dicts with the official key names of SimMIM / MoBY releases (random values).

Written from the key lists of the official code (microsoft/SimMIM
``models/{swin_transformer,vision_transformer}.py``,
SwinTransformer/Transformer-SSL ``models/moby.py``), independently of the
plugins' converters, so the tests can check that those converters read what
the releases contain.
"""
from typing import Sequence

import torch

from visrep.checkpoint.state_dict import StateDict
from .runs import load_script


def _rand(generator: torch.Generator, *shape) -> torch.Tensor:
    return torch.randn(*shape, generator=generator) * 0.2


def official_swin_v1(embed_dims: int, depths: Sequence[int],
                     num_heads: Sequence[int], window: int, img_size: int,
                     patch: int = 4, num_classes: int = 0,
                     seed: int = 0) -> StateDict:
    """An official Swin V1 state dict (``SwinTransformer``), buffers included.

    A stage whose map is not larger than the window gets the official
    window clip (``window = min(resolution)``, no shift, no ``attn_mask``).
    """
    g = torch.Generator().manual_seed(seed)
    sd = {'patch_embed.proj.weight': _rand(g, embed_dims, 3, patch, patch),
          'patch_embed.proj.bias': _rand(g, embed_dims),
          'patch_embed.norm.weight': 1 + _rand(g, embed_dims),
          'patch_embed.norm.bias': _rand(g, embed_dims)}
    resolution = img_size // patch
    for i, (depth, heads) in enumerate(zip(depths, num_heads)):
        dim = embed_dims * 2**i
        w = min(window, resolution)
        shifted = resolution > window
        for j in range(depth):
            p = f'layers.{i}.blocks.{j}.'
            sd[p + 'norm1.weight'] = 1 + _rand(g, dim)
            sd[p + 'norm1.bias'] = _rand(g, dim)
            sd[p + 'attn.relative_position_bias_table'] = _rand(
                g, (2 * w - 1)**2, heads)
            sd[p + 'attn.relative_position_index'] = torch.randint(
                0, (2 * w - 1)**2, (w * w, w * w), generator=g)
            sd[p + 'attn.qkv.weight'] = _rand(g, 3 * dim, dim)
            sd[p + 'attn.qkv.bias'] = _rand(g, 3 * dim)
            sd[p + 'attn.proj.weight'] = _rand(g, dim, dim)
            sd[p + 'attn.proj.bias'] = _rand(g, dim)
            sd[p + 'norm2.weight'] = 1 + _rand(g, dim)
            sd[p + 'norm2.bias'] = _rand(g, dim)
            sd[p + 'mlp.fc1.weight'] = _rand(g, 4 * dim, dim)
            sd[p + 'mlp.fc1.bias'] = _rand(g, 4 * dim)
            sd[p + 'mlp.fc2.weight'] = _rand(g, dim, 4 * dim)
            sd[p + 'mlp.fc2.bias'] = _rand(g, dim)
            if j % 2 and shifted:
                windows = (resolution // w)**2
                sd[p + 'attn_mask'] = torch.zeros(windows, w * w, w * w)
        if i < len(depths) - 1:
            p = f'layers.{i}.downsample.'
            sd[p + 'reduction.weight'] = _rand(g, 2 * dim, 4 * dim)
            sd[p + 'norm.weight'] = 1 + _rand(g, 4 * dim)
            sd[p + 'norm.bias'] = _rand(g, 4 * dim)
            resolution //= 2
    last = embed_dims * 2**(len(depths) - 1)
    sd['norm.weight'] = 1 + _rand(g, last)
    sd['norm.bias'] = _rand(g, last)
    if num_classes:
        sd['head.weight'] = _rand(g, num_classes, last)
        sd['head.bias'] = _rand(g, num_classes)
    return sd


def official_simmim_vit(embed_dims: int, depth: int, num_heads: int,
                        grid: int, patch: int = 16,
                        seed: int = 0) -> StateDict:
    """``VisionTransformerForSimMIM`` (shared position bias, final norm)."""
    g = torch.Generator().manual_seed(seed)
    c = embed_dims
    tokens = grid * grid + 1
    sd = {'cls_token': _rand(g, 1, 1, c), 'mask_token': _rand(g, 1, 1, c),
          'patch_embed.proj.weight': _rand(g, c, 3, patch, patch),
          'patch_embed.proj.bias': _rand(g, c),
          'rel_pos_bias.relative_position_bias_table': _rand(
              g, (2 * grid - 1)**2 + 3, num_heads),
          'rel_pos_bias.relative_position_index': torch.randint(
              0, (2 * grid - 1)**2 + 3, (tokens, tokens), generator=g)}
    for i in range(depth):
        p = f'blocks.{i}.'
        sd[p + 'gamma_1'] = _rand(g, c)
        sd[p + 'gamma_2'] = _rand(g, c)
        sd[p + 'norm1.weight'] = 1 + _rand(g, c)
        sd[p + 'norm1.bias'] = _rand(g, c)
        sd[p + 'attn.q_bias'] = _rand(g, c)
        sd[p + 'attn.v_bias'] = _rand(g, c)
        sd[p + 'attn.qkv.weight'] = _rand(g, 3 * c, c)
        sd[p + 'attn.proj.weight'] = _rand(g, c, c)
        sd[p + 'attn.proj.bias'] = _rand(g, c)
        sd[p + 'norm2.weight'] = 1 + _rand(g, c)
        sd[p + 'norm2.bias'] = _rand(g, c)
        sd[p + 'mlp.fc1.weight'] = _rand(g, 4 * c, c)
        sd[p + 'mlp.fc1.bias'] = _rand(g, 4 * c)
        sd[p + 'mlp.fc2.weight'] = _rand(g, c, 4 * c)
        sd[p + 'mlp.fc2.bias'] = _rand(g, c)
    sd['norm.weight'] = 1 + _rand(g, c)
    sd['norm.bias'] = _rand(g, c)
    return sd


def official_simmim(encoder: StateDict, channels: int, stride: int,
                    seed: int = 1) -> dict:
    """``{'model': {'encoder.*', 'decoder.0.*'}}`` around an encoder."""
    g = torch.Generator().manual_seed(seed)
    model = {'encoder.' + k: v for k, v in encoder.items()}
    model['decoder.0.weight'] = _rand(g, stride**2 * 3, channels, 1, 1)
    model['decoder.0.bias'] = _rand(g, stride**2 * 3)
    return {'model': model, 'epoch': 99}


def official_moby_mlp(prefix: str, in_dim: int, inner: int, out: int,
                      g: torch.Generator) -> StateDict:
    """``MoBYMLP`` with 2 layers: ``linear_hidden.{1: Linear, 2: BN}``."""
    return {
        prefix + 'linear_hidden.1.weight': _rand(g, inner, in_dim),
        prefix + 'linear_hidden.1.bias': _rand(g, inner),
        prefix + 'linear_hidden.2.weight': 1 + _rand(g, inner),
        prefix + 'linear_hidden.2.bias': _rand(g, inner),
        prefix + 'linear_hidden.2.running_mean': _rand(g, inner),
        prefix + 'linear_hidden.2.running_var': 1 + _rand(g, inner).abs(),
        prefix + 'linear_hidden.2.num_batches_tracked': torch.tensor(7),
        prefix + 'linear_out.weight': _rand(g, out, inner),
        prefix + 'linear_out.bias': _rand(g, out),
    }


def official_moby(swin: dict, inner: int = 64, feat: int = 16,
                  queue: int = 32, seed: int = 2) -> dict:
    """An official MoBY pre-training checkpoint for a Swin V1 config
    (``swin``: the keyword arguments of :func:`official_swin_v1`)."""
    g = torch.Generator().manual_seed(seed)
    online = official_swin_v1(**swin, seed=seed)
    target = official_swin_v1(**swin, seed=seed + 1)
    last = swin['embed_dims'] * 2**(len(swin['depths']) - 1)
    model = {'encoder.' + k: v for k, v in online.items()}
    model.update({'encoder_k.' + k: v for k, v in target.items()})
    model.update(official_moby_mlp('projector.', last, inner, feat, g))
    model.update(official_moby_mlp('projector_k.', last, inner, feat, g))
    model.update(official_moby_mlp('predictor.', feat, inner, feat, g))
    model['queue1'] = torch.nn.functional.normalize(
        torch.randn(feat, queue, generator=g), dim=0)
    model['queue2'] = torch.nn.functional.normalize(
        torch.randn(feat, queue, generator=g), dim=0)
    model['queue_ptr'] = torch.tensor([8])
    return {'model': model, 'epoch': 299}


def load_converter(name: str):
    """``tools/model_converters/<name>.py`` as a module (to call ``main``)."""
    return load_script(f'tools/model_converters/{name}.py')
