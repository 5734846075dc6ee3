"""Parameters and FLOPs of SwinV2-T/S/B at 256 px, window 8, vs the paper."""
import pytest
import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn

from visrep.projects.swin_v2 import SwinTransformerV2

# paper / official MODELHUB: params (M), FLOPs (G, multiply-adds) with the
# 1000-class head, 256x256 input, window 8
PAPER = {'tiny': (28, 5.9), 'small': (50, 11.5), 'base': (88, 20.3)}


class _Classifier(nn.Module):

    def __init__(self, arch):
        super().__init__()
        # the reference attention path, so that the counter sees the matmuls
        self.backbone = SwinTransformerV2(arch, window_size=8,
                                          fused_attention=False)
        self.head = nn.Linear(self.backbone.num_features[-1], 1000)

    def forward(self, x):
        return self.head(self.backbone(x)[-1].mean((2, 3)))


@pytest.mark.parametrize('arch', sorted(PAPER))
def test_params_and_flops_match_the_paper(arch):
    model = _Classifier(arch).eval()
    params = sum(p.numel() for p in model.parameters()) / 1e6
    analyzer = FlopAnalyzer(model, torch.randn(1, 3, 256, 256))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    flops = analyzer.total() / 1e9
    paper_params, paper_flops = PAPER[arch]
    assert abs(params / paper_params - 1) <= 0.02, params
    assert abs(flops / paper_flops - 1) <= 0.02, flops
    # attention matmuls are counted, not only the linear layers
    assert analyzer.by_operator()['matmul'] > 0
