# The accuracy check on the small ImageNet set (10 classes, 64 px): the smoke
# ResNet-18 run (6 epochs x 13 iterations, from scratch) with every conv
# except the stem pruned to 75 % balanced sparsity in banks of 32, gradually
# from iteration 13 (after the warmup epoch) to 52, every 3 iterations.
# Compare with configs/smoke/resnet18_small-imagenet.py at the same seed.
_base_ = '../smoke/resnet18_small-imagenet.py'
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', sparsity=0.75, bank_size=32,
         begin=13, end=52, interval=3)
]
