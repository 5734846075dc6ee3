"""Sequential self-attention (``attn_chunk_size``, SwinV2 paper section 3.4).

The chunked path must give the values and gradients of attending to all
windows at once -- shifted windows with padding, unequal sides, chunks that
straddle two images (the shift mask row is the window's position in its
image), 2-D and 3-D -- and keep only one chunk's attention matrices alive.
"""
import pytest
import torch

from visrep.engine.activation_memory import (peak_activation_bytes,
                                             saved_activation_bytes)
from visrep.projects.swin_v2 import SwinTransformerV2, VideoSwinTransformerV2
from visrep.projects.swin_v2.attention import WindowAttentionV2
from visrep.projects.swin_v2.windows import shift_attention_mask

ARCH = dict(embed_dims=16, depths=(2, 2), num_heads=(2, 4))
#: 12 windows per image in stage 0, 4 in stage 1: chunks of 5 straddle images
CHUNK = 5
#: (dtype, tolerance) pairs the brief asks for
PRECISIONS = [(torch.float64, 1e-12), (torch.float32, 1e-5)]


def _randomised(model: torch.nn.Module, dtype: torch.dtype,
                seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere (zero post norms would hide errors)."""
    g = torch.Generator().manual_seed(seed)
    model = model.to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype) * 0.2)
    return model


def _twins(cls, chunk, dtype, **kwargs):
    """The same model unchunked and with ``attn_chunk_size=chunk``."""
    kwargs = dict(arch=ARCH, drop_path_rate=0.0, attn_drop_rate=0.0,
                  out_indices=(0, 1), **kwargs)
    reference = _randomised(cls(**kwargs), dtype)
    chunked = cls(attn_chunk_size=chunk, **kwargs).to(dtype)
    chunked.load_state_dict(reference.state_dict())
    return reference, chunked


def _outputs_and_grads(model, x, train: bool):
    """Outputs, then the gradients of the input and of every parameter."""
    model.train(train)
    x = x.clone().requires_grad_()
    outs = model(x)
    outs = outs if isinstance(outs, tuple) else (outs, )
    g = torch.Generator().manual_seed(1)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum()
               for o in outs)
    loss.backward()
    grads = [x.grad] + [p.grad for p in model.parameters()]
    return list(outs), grads


def _assert_same(reference, chunked, x, train, tol):
    outs_r, grads_r = _outputs_and_grads(reference, x, train)
    outs_c, grads_c = _outputs_and_grads(chunked, x, train)
    for got, expected in zip(outs_c + grads_c, outs_r + grads_r):
        torch.testing.assert_close(got, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize('dtype,tol', PRECISIONS, ids=['fp64', 'fp32'])
@pytest.mark.parametrize('train', [True, False], ids=['train', 'eval'])
@pytest.mark.parametrize('size', [(44, 60), (32, 48)],
                         ids=['padded', 'window-order'])
def test_2d_equals_unchunked(dtype, tol, train, size):
    """44x60 pads stage 0 to 12x16 tokens (raster path); 32x48 needs no
    padding (tokens stay in window order through a stage)."""
    torch.manual_seed(0)
    reference, chunked = _twins(SwinTransformerV2, CHUNK, dtype,
                                window_size=4)
    _assert_same(reference, chunked, torch.randn(2, 3, *size, dtype=dtype),
                 train, tol)


@pytest.mark.parametrize('fused,sdpa', [(False, None), (True, True)],
                         ids=['reference-path', 'sdpa'])
def test_other_attention_paths(fused, sdpa):
    torch.manual_seed(0)
    reference, chunked = _twins(SwinTransformerV2, CHUNK, torch.float64,
                                window_size=4, fused_attention=fused)
    for model in (reference, chunked):
        for block in model.all_blocks():
            block.attn.use_sdpa = sdpa
    _assert_same(reference, chunked,
                 torch.randn(2, 3, 44, 60, dtype=torch.float64), True, 1e-12)


@pytest.mark.parametrize('dtype,tol', PRECISIONS, ids=['fp64', 'fp32'])
def test_video_equals_unchunked(dtype, tol):
    """3-D windows (2, 4, 4) on 2x8x10 tokens: padded, shifted in space."""
    torch.manual_seed(0)
    reference, chunked = _twins(VideoSwinTransformerV2, CHUNK, dtype,
                                window_size=(2, 4, 4))
    _assert_same(reference, chunked,
                 torch.randn(2, 3, 4, 32, 40, dtype=dtype), True, tol)


def test_nested_in_block_checkpointing_and_no_grad():
    """Inside ``with_cp`` (a checkpoint in a checkpoint) the gradients
    agree; without gradients the chunks are not checkpointed."""
    torch.manual_seed(0)
    reference, chunked = _twins(SwinTransformerV2, CHUNK, torch.float64,
                                window_size=4, with_cp=True)
    x = torch.randn(2, 3, 44, 60, dtype=torch.float64)
    _assert_same(reference, chunked, x, True, 1e-12)
    with torch.no_grad():
        for got, expected in zip(chunked.eval()(x), reference.eval()(x)):
            torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_per_stage_setting():
    model = SwinTransformerV2(ARCH, window_size=4, attn_chunk_size=(8, 0))
    sizes = [[b.attn.attn_chunk_size for b in stage.blocks]
             for stage in model.layers]
    assert sizes == [[8, 8], [None, None]]
    assert SwinTransformerV2(ARCH).attn_chunk_sizes == (None, None)


@pytest.mark.parametrize('value', [-1, 2.5, True, '16', (4, 4, 4)])
def test_bad_chunk_size_is_a_clear_error(value):
    with pytest.raises(ValueError, match='attn_chunk_size'):
        SwinTransformerV2(ARCH, attn_chunk_size=value)


# ------------------------------------------------------------------ memory
#: a 32x32 map of 16x16 windows (N = 256), 8 heads, 8 images: 32 windows;
#: C = 8 keeps the per-token tensors small next to the N x N ones, as at
#: high resolution (SwinV2-G at 640 px: nH * N = 25600 >> C = 512)
SIDE, WINDOW, HEADS, DIM, BATCH = 32, 16, 8, 8, 8


def _attention_case(chunk):
    torch.manual_seed(0)
    attn = WindowAttentionV2(DIM, HEADS, (WINDOW, WINDOW),
                             attn_chunk_size=chunk).train()
    mask = shift_attention_mask((SIDE, SIDE), (WINDOW, WINDOW),
                                (WINDOW // 2, WINDOW // 2))
    x = torch.randn(BATCH * len(mask), WINDOW**2, DIM, requires_grad=True)
    # one window's attention matrix over all heads, fp32
    window_matrix = HEADS * WINDOW**4 * 4
    return attn, x, mask, window_matrix


def test_saved_bytes_drop_by_the_attention_matrices():
    """Kept for backward: unchunked, the softmax of every window (B * nW
    matrices of nH x N x N); chunked, none of them, but the position bias
    (one window's matrix) is kept as an input of the recomputed chunks.
    The saved bytes drop by (B * nW - 1) window matrices."""
    attn, x, mask, window_matrix = _attention_case(None)
    unchunked = saved_activation_bytes(attn, x, mask, exclude=[attn])
    attn.attn_chunk_size = 8
    chunked = saved_activation_bytes(attn, x, mask, exclude=[attn])
    predicted = (len(x) - 1) * window_matrix
    assert unchunked - chunked == pytest.approx(predicted, rel=0.15)


@pytest.mark.parametrize('chunk', [16, 8])
def test_peak_drops_by_the_predicted_factor(chunk):
    """Peak of forward + backward: three matrices per window in flight (the
    softmax kept for backward, its gradient, the logits' gradient) plus the
    position bias (one more): ``(3 w + 1)`` window matrices, ``w = B * nW``
    unchunked, ``w = attn_chunk_size`` chunked."""
    attn, x, mask, _ = _attention_case(None)
    unchunked = peak_activation_bytes(attn, x, mask)
    attn.attn_chunk_size = chunk
    chunked = peak_activation_bytes(attn, x, mask)
    predicted = (3 * len(x) + 1) / (3 * chunk + 1)
    assert unchunked / chunked == pytest.approx(predicted, rel=0.15)
