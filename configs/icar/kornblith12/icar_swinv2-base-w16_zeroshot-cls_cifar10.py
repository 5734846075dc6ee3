# Kornblith-12: CIFAR-10 (top-1)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='CIFAR10', data_root='data/cifar10', split='test', download=False,
    pipeline={{_base_.test_pipeline}}))
