# Kornblith-12: Stanford Cars (top-1)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='StanfordCars', data_root='data/stanford_cars', split='test',
    pipeline={{_base_.test_pipeline}}))
