# Kornblith-12: DTD (top-1)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='DTD', data_root='data/dtd', split='test',
    pipeline={{_base_.test_pipeline}}))
