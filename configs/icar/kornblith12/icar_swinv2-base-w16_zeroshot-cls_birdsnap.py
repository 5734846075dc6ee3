# Kornblith-12: Birdsnap (top-1), a folder per species under
# data/birdsnap/test
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='CustomDataset', data_root='data/birdsnap', data_prefix='test',
    with_label=True,
    pipeline={{_base_.test_pipeline}}))
