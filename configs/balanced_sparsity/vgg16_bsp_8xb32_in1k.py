# Balanced Sparsity on VGG-16 / ImageNet, the paper's CV workload: start from
# mmpretrain's dense VGG-16 (top-1 71.62, top-5 90.49) and prune every conv
# and FC layer except the first conv and the last FC (the classifier) to
# bank-balanced sparsity while fine-tuning -- all kernels of a conv layer as
# one matrix, banks of 32 consecutive row elements (one per GPU shared-memory
# bank / warp lane, as the paper's kernel maps them), gradual (cubic) pruning
# over the first 15 of 30 epochs (SGD, lr 1e-3, cosine).
# Model, data and runtime are those of mmpretrain::vgg/vgg16_8xb32_in1k.py
# (the same bases).  75 % conv / 90 % fc6-fc7 is our choice (the paper's
# per-layer VGG-16 ratios are not used; see the README), overridable.
_base_ = [
    'mmpretrain::_base_/models/vgg16.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    './_base_/sgd_cosine_finetune_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
load_from = 'https://download.openmmlab.com/mmclassification/v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth'  # noqa
optim_wrapper = dict(optimizer=dict(lr=0.001))
custom_hooks = [
    dict(
        type='visrep.BalancedSparsityHook',
        sparsity=0.75,
        bank_size=32,
        layer_cfgs=[dict(name=r'^backbone\.classifier\.', sparsity=0.9)],
        begin=0,
        end=15,
        interval=1,
        by_epoch=True)
]
