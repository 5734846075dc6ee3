# Few-shot evaluation: a k-shot linear probe (k=4) on the held-out classes
# 5-9 of the small set, on top of a trained iCAR model (everything frozen but
# the probe), initialised with the class prototypes of the text encoder (so
# it starts as the zero-shot classifier); source='image' uses the mean image
# embedding of each class instead.
#   tools/train.py <this> --cfg-options load_from=<joint checkpoint>
_base_ = ['./_base_/icar_small-imagenet-captions.py']
shots = 4
model = dict(
    classifier='linear', test_classifier='linear',
    linear=dict(num_classes=5, input='embedding'),
    class_text=dict(classes={{_base_.heldout}}),
    itc_weight=0.0,
    frozen=('backbone', 'neck', 'visual_proj', 'text_encoder'))
train_dataloader = dict(
    batch_size=20,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True, type='visrep.KShotDataset', shots=shots, seed=0,
        dataset=dict(
            type='ImageNet', data_root={{_base_.data_root}},
            ann_file='meta/train_heldout.txt', data_prefix='train',
            metainfo=dict(classes={{_base_.heldout}}),
            pipeline={{_base_.train_pipeline}})))
max_iters = 50
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.0))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='visrep.ICARPrototypeInitHook', source='text')]
