# Kornblith-12: Oxford 102 Flowers (mean-per-class accuracy)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='Flowers102', data_root='data/flowers102', split='test',
    pipeline={{_base_.test_pipeline}}))
test_evaluator = [dict(type='Accuracy', topk=(1, )),
                  dict(type='visrep.MeanPerClassAccuracy')]
