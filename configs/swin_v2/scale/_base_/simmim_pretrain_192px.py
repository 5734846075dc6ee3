# SimMIM pre-training of SwinV2-L/H/G on ImageNet-1k at 192 px, window 12,
# for sharded training: the SwinV2-B recipe
# (configs/simmim/simmim_swinv2-base-w12_8xb256-amp-800e_in1k-192px.py: the
# official SimMIM SwinV2 800-epoch recipe, normalised target, lr 1e-4 per 512
# images, warm-up 10 epochs, x0.1 at epoch 700, wd 0.05, clip 5, drop path
# 0.1) with activation checkpointing per block.  Stage 4's 6 x 6 map takes the
# whole map as its window, so the effective windows are 12, 12, 12, 6: the
# `pretrained_window_sizes` of the fine-tuning configs.  Mixed precision comes
# from the strategy (bf16), so the optimizer wrapper is a plain OptimWrapper.
# An experiment sets the arch, the decoder's input channels (8 C), the batch
# size and a strategy (_base_/strategies/).
_base_ = '../../../simmim/simmim_swinv2-base-w12_8xb256-amp-800e_in1k-192px.py'
model = dict(backbone=dict(with_cp=True))
optim_wrapper = dict(type='OptimWrapper')
