# ResNet-50 / ImageNet balanced-sparsity fine-tune at 90 % (otherwise as the
# 75 % config).  A bank of B prunes floor(0.9 * B): 28/32 = 87.5 % with banks
# of 32, 57/64 = 89.1 % with banks of 64 (every ResNet-50 row length is a
# multiple of 64), the closest to 90 % that equal banks allow here.
_base_ = './resnet50_bsp75_8xb32_in1k.py'
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', sparsity=0.9, bank_size=64,
         begin=0, end=15, interval=1, by_epoch=True)
]
