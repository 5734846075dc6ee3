# Kornblith-12: Oxford-IIIT Pets (mean-per-class accuracy)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='OxfordIIITPet', data_root='data/oxford_pets', split='test',
    pipeline={{_base_.test_pipeline}}))
test_evaluator = [dict(type='Accuracy', topk=(1, )),
                  dict(type='visrep.MeanPerClassAccuracy')]
