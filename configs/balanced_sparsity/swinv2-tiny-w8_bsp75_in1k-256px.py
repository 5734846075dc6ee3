# Balanced Sparsity, SwinV2-T (window 8) / ImageNet at 256 px: fine-tune the
# official release to 75 % in banks of 32 (as the 2:4 config otherwise).
_base_ = './swinv2-tiny-w8_bsp2of4_in1k-256px.py'
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', sparsity=0.75, bank_size=32,
         exclude=['cpb_mlp'], begin=0, end=10, interval=1, by_epoch=True)
]
