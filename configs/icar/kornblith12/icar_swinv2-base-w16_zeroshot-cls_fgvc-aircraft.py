# Kornblith-12: FGVC Aircraft (mean-per-class accuracy)
# zero-shot with an iCAR checkpoint.
_base_ = ['./_base_.py']
test_dataloader = dict(dataset=dict(
    type='FGVCAircraft', data_root='data/fgvc_aircraft', split='test',
    pipeline={{_base_.test_pipeline}}))
test_evaluator = [dict(type='Accuracy', topk=(1, )),
                  dict(type='visrep.MeanPerClassAccuracy')]
