# iCAR joint training (OUR CHOICE of the unpublished recipe, see README):
# ImageNet-22K (21,841 classes, "lemma: WordNet gloss" from timm's offline
# tables, one template sampled per class per step, class prompts sharded over
# the GPUs) + image-caption pairs (e.g. GCC / YFCC-14M converted to
# "<path>\t<caption>" lines), half of each batch from each source,
# L = L_cls + 1.0 * L_itc.  16 GPUs x 128.  Not run here (no data / GPU).
_base_ = ['./_base_/icar_swinv2-base.py',
          'mmpretrain::_base_/default_runtime.py']
model = dict(
    class_text=dict(classes='timm:imagenet-22k',
                    descriptions='timm:imagenet-22k', templates='simple'),
    test_class_text=dict(classes='timm:imagenet-1k',
                         descriptions='timm:imagenet-1k',
                         templates='openai_imagenet'),
    shard_classes=True,
    data_preprocessor=dict(num_classes=21841))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=256, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=['caption']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=292, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=256),
    dict(type='PackInputs'),
]
labelled = dict(type='ImageNet21k', data_root='data/imagenet21k',
                ann_file='meta/train.txt', data_prefix='train',
                pipeline=train_pipeline)
captions = dict(type='visrep.ImageCaptionDataset', data_root='data/captions',
                ann_file='train.txt', data_prefix='images',
                pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=128, num_workers=8, persistent_workers=True,
    sampler=dict(type='mmdet.MultiSourceSampler', batch_size=128,
                 source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset', datasets=[labelled, captions],
                 ignore_keys=['classes']))
# zero-shot ImageNet-1K (80 CLIP templates averaged, names + glosses)
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root='data/imagenet',
                 split='val', pipeline=test_pipeline))
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05,
                   betas=(0.9, 0.999)),
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    clip_grad=dict(max_norm=5.0))
# MultiSourceSampler is infinite: an iteration-based loop; 6,900 iterations
# of 2,048 images (half labelled) ~ one pass over IN-22K's 14.2M images
epoch = 6900
max_iters = 90 * epoch
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=5 * epoch),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False,
         begin=5 * epoch, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=epoch)
val_cfg = dict()
test_cfg = dict()
log_processor = dict(by_epoch=False)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=epoch))
auto_scale_lr = dict(base_batch_size=2048)
