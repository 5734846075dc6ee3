# ResNet-50 / ImageNet balanced-sparsity fine-tune at 50 % (otherwise as the
# 75 % config).
_base_ = './resnet50_bsp75_8xb32_in1k.py'
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', sparsity=0.50, bank_size=32,
         begin=0, end=15, interval=1, by_epoch=True)
]
