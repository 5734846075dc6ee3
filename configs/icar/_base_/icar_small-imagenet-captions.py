# iCAR on the small ImageNet set extended by captions (written by
# `python tools/dataset_converters/make_small_datasets.py imagenet_captions`):
#   labelled set   data/small/imagenet/meta/train_seen.txt   classes 0-4 only
#   caption pairs  data/small/imagenet/meta/captions_train.txt  (every train image +
#                  160 extra images, "<path>\t<caption>")
#   validation     data/small/imagenet/meta/val_heldout.txt  classes 5-9: zero-shot
# Tiny SwinV2 (64 px) + a tiny text Transformer; batches of 16 labelled + 16
# caption samples (mmdet's MultiSourceSampler), 300 iterations.
_base_ = ['mmpretrain::_base_/default_runtime.py',
          './tiny_text_encoder.py']
# reads the generated small set under data/small/ (see
# configs/_base_/datasets/small/imagenet.py for `small_data`)
small_data = True
data_root = 'data/small/imagenet'
class_names = ['tench', 'goldfish', 'great white shark', 'tiger shark',
               'hammerhead', 'electric ray', 'stingray', 'cock', 'hen',
               'ostrich']
seen, heldout = class_names[:5], class_names[5:]
descriptions = f'{data_root}/meta/class_descriptions.json'

model = dict(
    type='visrep.ICAR',
    backbone=dict(
        type='visrep.SwinTransformerV2', img_size=64, window_size=4,
        arch=dict(embed_dims=32, depths=(2, 2, 2, 2), num_heads=(1, 2, 4, 8)),
        drop_path_rate=0.0),
    image_channels=256,
    embed_dim=64,
    text_encoder={{_base_.tiny_text_encoder}},
    class_text=dict(classes=seen, descriptions=descriptions,
                    templates='simple'),
    test_class_text=dict(classes=heldout, descriptions=descriptions,
                         templates='simple'),
    temperature=0.05,
    itc_weight=1.0,
    data_preprocessor=dict(
        type='ClsDataPreprocessor', num_classes=5,
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        to_rgb=True))

crop = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=crop, crop_ratio_range=(0.5, 1.0)),
    dict(type='PackInputs', algorithm_keys=['caption']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=crop * 8 // 7, edge='short'),
    dict(type='CenterCrop', crop_size=crop),
    dict(type='PackInputs'),
]
labelled = dict(type='ImageNet', data_root=data_root,
                ann_file='meta/train_seen.txt', data_prefix='train',
                metainfo=dict(classes=seen), pipeline=train_pipeline)
captions = dict(type='visrep.ImageCaptionDataset', data_root=data_root,
                ann_file='meta/captions_train.txt', pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='mmdet.MultiSourceSampler', batch_size=32,
                 source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset', datasets=[labelled, captions],
                 ignore_keys=['classes']))
val_dataloader = dict(
    batch_size=50, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root=data_root,
                 ann_file='meta/val_heldout.txt', data_prefix='val',
                 metainfo=dict(classes=heldout), pipeline=test_pipeline))
val_evaluator = [dict(type='Accuracy', topk=(1, )),
                 dict(type='visrep.MeanPerClassAccuracy')]
test_dataloader = val_dataloader
test_evaluator = val_evaluator

max_iters = 300
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, by_epoch=False))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
