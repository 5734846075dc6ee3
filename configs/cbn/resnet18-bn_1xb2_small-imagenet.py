# CPU small-batch demonstration (visrep/projects/cbn/README.md): the stock
# ResNet-18 smoke config on the small ImageNet set (400 images, 10 classes,
# 64 px) at 2 images per iteration with BatchNorm.  The learning rate follows
# the linear rule from the smoke config's 0.1 at 32 images; 6 epochs = 1200
# iterations.  tools/analysis_tools/cbn_small_batch_demo.py trains it next to
# the CBN and GN versions with several seeds.
_base_ = '../smoke/resnet18_small-imagenet.py'
train_dataloader = dict(batch_size=2)
optim_wrapper = dict(optimizer=dict(lr=0.1 * 2 / 32))
default_hooks = dict(logger=dict(interval=50))
