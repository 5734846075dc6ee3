# Kornblith-12: SUN397 (top-1)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='SUN397', data_root='data/sun397', split='test',
    pipeline={{_base_.test_pipeline}}))
