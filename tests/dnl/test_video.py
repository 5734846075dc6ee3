"""3-D DNL blocks at mmaction2's non-local positions (SlowOnly / I3D R50)."""
import pytest
import torch
from mmengine.registry import DefaultScope

from visrep.projects.dnl import DNLBlock, replace_non_local

NON_LOCAL = ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0))


def _build(cfg):
    from mmaction.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmaction'):
        return MODELS.build(cfg)


def _positions(model):
    return sorted(n for n, m in model.named_modules()
                  if isinstance(m, DNLBlock))


@pytest.mark.parametrize('backbone', ['visrep.ResNet3dSlowOnlyDNL',
                                      'visrep.ResNet3dDNL'])
def test_dnl_blocks_where_non_local_is_flagged(backbone):
    model = _build(dict(type=backbone, depth=50, base_channels=8,
                        pretrained=None, non_local=NON_LOCAL,
                        non_local_cfg=dict(sub_sample=True),
                        dnl_cfg=dict(downsample=True)))
    assert _positions(model) == [
        'layer2.0.non_local_block', 'layer2.2.non_local_block',
        'layer3.0.non_local_block', 'layer3.2.non_local_block',
        'layer3.4.non_local_block']
    block = model.layer3[2].non_local_block
    assert block.dim == 3 and block.in_channels == 8 * 4 * 4
    assert block.downsample.kernel_size == (1, 2, 2)
    model.init_weights()  # Kaiming on every Conv3d, then the block's init
    assert 0.008 < block.conv_value.weight.std().item() < 0.012
    assert block.gamma.item() == 0.0
    with torch.no_grad():
        block.gamma.fill_(0.5)
    out = model(torch.randn(1, 3, 4, 32, 32))
    assert out.shape[1] == 8 * 4 * 8 and torch.isfinite(out).all()


def test_the_block_runs_after_the_residual_and_relu():
    """mmaction applies ``non_local_block`` to the block output: a hook on
    the DNL block sees a non-negative (post-ReLU) map of the block's width."""
    model = _build(dict(type='visrep.ResNet3dSlowOnlyDNL', depth=50,
                        base_channels=8, pretrained=None,
                        non_local=NON_LOCAL))
    seen = []
    model.layer2[0].non_local_block.register_forward_hook(
        lambda m, i, o: seen.append(i[0]))
    model(torch.randn(1, 3, 2, 32, 32))
    assert seen and seen[0].shape[1] == 8 * 2 * 4 and seen[0].min() >= 0


def test_replace_non_local_on_a_built_model():
    model = _build(dict(type='ResNet3d', depth=50, base_channels=8,
                        pretrained=None, pretrained2d=False,
                        non_local=NON_LOCAL))
    assert replace_non_local(model, dict(reduction=4)) == 5
    assert model.layer2[0].non_local_block.planes == 8 * 2 * 4 // 4
    state = model.state_dict()
    assert 'layer2.0.non_local_block.conv_query.weight' in state
    assert not any(k.split('.non_local_block.')[-1].startswith(('g.', 'theta'))
                   for k in state if 'non_local_block' in k)


def test_no_flag_is_an_error_naming_the_field():
    with pytest.raises(ValueError, match='non_local'):
        _build(dict(type='visrep.ResNet3dSlowOnlyDNL', depth=50,
                    base_channels=8, pretrained=None))


def test_dim_in_dnl_cfg_must_match():
    with pytest.raises(ValueError, match='dim'):
        _build(dict(type='visrep.ResNet3dDNL', depth=50, base_channels=8,
                    pretrained=None, pretrained2d=False, non_local=NON_LOCAL,
                    dnl_cfg=dict(dim=2)))
