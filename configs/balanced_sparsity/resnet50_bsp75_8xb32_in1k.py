# Balanced Sparsity, ResNet-50 / ImageNet fine-tune at 75 %: start from
# mmpretrain's dense ResNet-50 (top-1 76.55), prune every conv (kernels
# flattened: rows of C_in*k*k) and linear layer except the stem conv and the
# classifier to 75 % in banks of 32, gradually (cubic) over 15 epochs, then
# 15 more epochs at the target (SGD, lr 0.01, cosine).
# Model, data and runtime are those of
# mmpretrain::resnet/resnet50_8xb32_in1k.py (the same bases).
# Variants: resnet50_bsp50_*.py, resnet50_bsp90_*.py.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    './_base_/sgd_cosine_finetune_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
load_from = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', sparsity=0.75, bank_size=32,
         begin=0, end=15, interval=1, by_epoch=True)
]
