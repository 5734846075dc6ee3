# Zero-shot evaluation of a trained iCAR model on one of the Kornblith et al.
# (CVPR 2019) 12 datasets, in mmpretrain's standard layouts under data/:
#   tools/test.py configs/icar/kornblith12/icar_swinv2-base-w16_zeroshot-cls_<dataset>.py \
#       <iCAR checkpoint>
# (named like mmpretrain's CLIP evaluation configs,
# clip_vit-base-p16_zeroshot-cls_cifar100.py: no training, so no NxB/schedule)
# The class list is the test dataset's metainfo (ICARClassNamesHook); class
# text = name (+ description when a JSON is given: set
# model.test_class_text.descriptions='<file>.json'), CLIP's 80 ImageNet
# templates averaged.  The 12 configs are not run here (no data).
_base_ = ['../_base_/icar_swinv2-base.py',
          'mmpretrain::_base_/default_runtime.py']
model = dict(
    test_class_text=dict(classes=None, description_mode='name_description',
                         missing_description='name',
                         templates='openai_imagenet'))
custom_hooks = [dict(type='visrep.ICARClassNamesHook')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
test_dataloader = dict(
    batch_size=64, num_workers=8,
    sampler=dict(type='DefaultSampler', shuffle=False))
test_evaluator = dict(type='Accuracy', topk=(1, ))
test_cfg = dict()
