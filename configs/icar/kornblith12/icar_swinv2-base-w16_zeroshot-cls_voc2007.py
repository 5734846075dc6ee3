# Kornblith-12: PASCAL VOC 2007 classification (11-point mAP) -- zero-shot
# with an iCAR checkpoint; each class ranked by its softmax score over the 20
# classes; difficult-only labels are ignored (VOC devkit).
_base_ = ['./_base_.py']
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs', meta_keys=('gt_label_difficult', ))
]
test_dataloader = dict(dataset=dict(
    type='VOC', data_root='data/VOCdevkit/VOC2007', split='test',
    pipeline=test_pipeline))
test_evaluator = dict(type='visrep.VOC07ElevenPointMAP')
