"""mmseg's DNL block and head against ours: equal with the mmseg switches
and the same weights; each official difference, switched back alone,
changes the output; the official head differs from mmseg's only in the
block."""
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.models.decode_heads.dnl_head import DisentangledNonLocal2d, DNLHead

from visrep.projects.dnl import (MMSEG_DNL_BLOCK, DNLBlock, DNLOfficialHead,
                          convert_mmseg_dnl)

BN = dict(type='BN')


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                values = torch.randn(tensor.shape, generator=g) * 0.3
                if name.endswith('running_var'):
                    values = values.abs() + 0.5
                tensor.copy_(values)
    return module


def _pair(**overrides):
    theirs = _randomise(DisentangledNonLocal2d(
        16, reduction=2, use_scale=True, norm_cfg=BN,
        mode='embedded_gaussian', temperature=0.05))
    cfg = dict(MMSEG_DNL_BLOCK, out_norm_cfg=BN)
    cfg.update(overrides)
    ours = DNLBlock(16, **cfg)
    state = convert_mmseg_dnl(theirs.state_dict(), block_prefix='')
    if ours.gamma is not None:
        state['gamma'] = torch.ones(1)
    ours.load_state_dict(state, strict=True)
    return theirs, ours


@pytest.mark.parametrize('train', [False, True])
def test_block_equals_mmseg_with_the_mmseg_switches(train):
    theirs, ours = _pair()
    theirs.train(train)
    ours.train(train)
    x = torch.randn(2, 16, 6, 7)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('switch', [
    dict(whiten='scalar'),        # official ln_nostd vs per-channel mean
    dict(use_scale=False),        # official nowd: no 1/sqrt(C')
    dict(temperature=1.0),        # official nowd: no temperature
], ids=['scalar-whitening', 'no-scale', 'no-temperature'])
def test_each_official_difference_changes_the_output(switch):
    theirs, ours = _pair(**switch)
    theirs.eval()
    ours.eval()
    x = torch.randn(2, 16, 6, 7)
    assert not torch.allclose(ours(x), theirs(x), rtol=1e-3, atol=1e-3)


def test_gamma_is_a_learned_weight_of_the_pairwise_term():
    """Official gamma: with gamma = 1 ours equals mmseg; with gamma = 0.5
    the output moves by exactly half the pairwise term."""
    theirs, ours = _pair(use_gamma=True)
    theirs.eval()
    ours.eval()
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)
    unary_only = DNLBlock(16, **dict(MMSEG_DNL_BLOCK, out_norm_cfg=BN,
                                     pairwise=False))
    unary_only.load_state_dict({k: v for k, v in ours.state_dict().items()
                                if not k.startswith(('conv_query', 'conv_key',
                                                     'gamma'))})
    unary_only.eval()
    with torch.no_grad():
        ours.gamma.fill_(0.5)
        # before the output norm (eval BN is affine): y = gamma*P + U
        pre = {}
        ours.out_norm.register_forward_hook(
            lambda m, i, o: pre.__setitem__('ours', i[0]))
        unary_only.out_norm.register_forward_hook(
            lambda m, i, o: pre.__setitem__('unary', i[0]))
        ours(x)
        unary_only(x)
        theirs_pre = {}
        theirs.conv_out.bn.register_forward_hook(
            lambda m, i, o: theirs_pre.__setitem__('y', i[0]))
        theirs(x)
    pairwise = theirs_pre['y'] - pre['unary']
    torch.testing.assert_close(pre['ours'], pre['unary'] + 0.5 * pairwise,
                               rtol=1e-4, atol=1e-5)


def _in_mmseg(head_cls, **kwargs):
    # the heads build their losses in the current default scope, which
    # other tests (Runners) may have left at another toolkit
    with DefaultScope.overwrite_default_scope('mmseg'):
        return head_cls(**kwargs)


def _heads(block_cfg=None, mid_channels=None):
    common = dict(in_channels=32, channels=8, num_classes=5, norm_cfg=BN,
                  dropout_ratio=0.1)
    theirs = _randomise(_in_mmseg(DNLHead, **common))
    ours = _in_mmseg(DNLOfficialHead, block_cfg=block_cfg,
                     mid_channels=mid_channels, **common)
    return theirs.eval(), ours.eval()


def test_head_equals_mmseg_dnlhead_with_the_switches():
    theirs, ours = _heads(dict(MMSEG_DNL_BLOCK, out_norm_cfg=BN),
                          mid_channels=8)
    ours.load_state_dict(convert_mmseg_dnl(theirs.state_dict()), strict=True)
    x = [torch.randn(2, 32, 9, 9)]
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)


def test_official_head_differs_from_mmseg_only_in_the_block():
    """in_channels = 4 x channels: the official middle width C_in/4 is
    mmseg's ``channels``, so every layer but the block has the same shape;
    with those weights shared the heads agree up to the block, disagree
    after it, and agree again once ours gets mmseg's block."""
    theirs, ours = _heads()
    shared = {k: v for k, v in theirs.state_dict().items()
              if not k.startswith('dnl_block.')}
    missing, unexpected = ours.load_state_dict(shared, strict=False)
    assert not unexpected and all(k.startswith('dnl_block.')
                                  for k in missing)
    _randomise(ours.dnl_block, seed=3)
    x = [torch.randn(2, 32, 9, 9)]
    torch.testing.assert_close(ours.convs[0](x[0]), theirs.convs[0](x[0]))
    assert not torch.allclose(ours(x), theirs(x), atol=1e-3)
    ours.dnl_block = theirs.dnl_block
    torch.testing.assert_close(ours(x), theirs(x))


def test_official_head_widths():
    head = _in_mmseg(DNLOfficialHead, in_channels=2048, channels=512,
                     num_classes=19, norm_cfg=BN)
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()
              if k.endswith('weight') and v.dim() == 4}
    assert shapes == {
        'convs.0.conv.weight': (512, 2048, 3, 3),
        'dnl_block.conv_value.weight': (512, 512, 1, 1),
        'dnl_block.conv_query.weight': (256, 512, 1, 1),
        'dnl_block.conv_key.weight': (256, 512, 1, 1),
        'dnl_block.conv_mask.weight': (1, 512, 1, 1),
        'convs.1.conv.weight': (512, 512, 3, 3),
        'conv_cat.conv.weight': (512, 2560, 3, 3),
        'conv_seg.weight': (19, 512, 1, 1)}
    assert head.dropout.p == 0.1 and isinstance(head.dropout,
                                                torch.nn.Dropout2d)


def test_head_rejects_several_inputs():
    with pytest.raises(ValueError, match='in_index'):
        _in_mmseg(DNLOfficialHead, in_channels=[16, 32], in_index=[0, 1],
                  input_transform='multiple_select', channels=8,
                  num_classes=3)


def test_converter_names_the_key_it_cannot_map():
    theirs = DisentangledNonLocal2d(16, temperature=0.05)  # no norm_cfg
    with pytest.raises(KeyError, match='conv_out.conv.bias'):
        convert_mmseg_dnl(theirs.state_dict(), block_prefix='')
