# Kornblith-12: Food-101 (top-1)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='Food101', data_root='data/food101', split='test',
    pipeline={{_base_.test_pipeline}}))
