# Cross-Iteration BatchNorm everywhere in ResNet-18, 8 GPUs x 4 images:
# statistics from a window of k = 8 iterations (buffer_num=7), compensated
# with each layer's conv weight change (rho=1).  The official code has no
# ImageNet configs; window and burn-in follow our reading of the paper's
# ImageNet experiments [unverified]: k = 8, plain BN for the first 25 epochs.
# The burn-in is given in epochs, which visrep.CBNBurnInHook converts with the
# per-process epoch length.
# It targets the paper's numbers, so it uses the official layer's numerics
# (eps outside the sqrt, unbiased variance without a window, uniform init;
# mmpretrain's ResNet init_cfg then sets every norm's gamma to 1, and the
# last norm of each block to 0 with zero_init_residual).
_base_ = './resnet18-bn_8xb4_in1k.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(
            type='visrep.CBN', buffer_num=7, rho=1.0, burnin=25,
            burnin_unit='epoch', eps_in_sqrt=False, plain_var='unbiased',
            affine_init='uniform', requires_grad=True)))
custom_hooks = [dict(type='visrep.CBNBurnInHook')]
