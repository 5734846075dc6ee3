# Kornblith-12: Caltech-101 (mean-per-class accuracy)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='Caltech101', data_root='data/caltech101', split='test',
    pipeline={{_base_.test_pipeline}}))
test_evaluator = [dict(type='Accuracy', topk=(1, )),
                  dict(type='visrep.MeanPerClassAccuracy')]
