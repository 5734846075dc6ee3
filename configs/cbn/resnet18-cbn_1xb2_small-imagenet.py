# CPU small-batch demonstration with CBN in every norm layer of ResNet-18:
# window of k = 8 iterations (buffer_num=7, 16 images), Taylor compensation
# (rho=1), plain BN during the first epoch (burnin=1, burnin_unit='epoch',
# converted to 200 iterations by visrep.CBNBurnInHook).
_base_ = './resnet18-bn_1xb2_small-imagenet.py'
model = dict(
    backbone=dict(
        norm_cfg=dict(
            type='visrep.CBN', buffer_num=7, rho=1.0, burnin=1,
            burnin_unit='epoch', requires_grad=True)))
custom_hooks = [dict(type='visrep.CBNBurnInHook')]
