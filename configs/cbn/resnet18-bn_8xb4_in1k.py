# ImageNet small-batch setting of the CBN paper: ResNet-18, 8 GPUs x 4 images
# (32 images per iteration), BatchNorm whose statistics come from 4 images.
# The learning rate follows the linear rule: 0.1 x 32 / 256.  The rest is
# mmpretrain's ResNet-18 recipe (90 epochs, steps at 30/60/80).
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(lr=0.1 * 32 / 256))
auto_scale_lr = dict(base_batch_size=32)
