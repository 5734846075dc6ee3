# MoBY pre-training of a micro Swin V1 (C=32, depths 2-2-2, stride 16) on the
# small ImageNet set (400 images): the official algorithm and BYOL-asymmetric
# views at 64 px, scaled to CPU -- projector/predictor hidden 512, queues of
# 256 keys, batch 32, AdamW 1e-3, 100 epochs (1200 iterations).  The
# linear-probe comparison is swin-micro_moby-pre_linear_small-imagenet.py.
_base_ = '../moby_swin-tiny_8xb64-amp-coslr-300e_in1k.py'
# reads the generated small set under data/small/ (see
# configs/_base_/datasets/small/imagenet.py for `small_data`)
small_data = True
data_root = 'data/small/imagenet/'
img_size = 64
# the views of ../_base_/moby_two_views.py, cropped to img_size
common_view = [dict(_base_.common_view[0], scale=img_size),
               *_base_.common_view[1:]]
view_pipeline1 = common_view + _base_.view_pipeline1[len(common_view):]
view_pipeline2 = common_view + _base_.view_pipeline2[len(common_view):]
train_pipeline = [
    dict(step, transforms=[view_pipeline1, view_pipeline2])
    if step.type == 'MultiView' else step for step in _base_.train_pipeline
]
train_dataloader = dict(batch_size=32, num_workers=2,
                        persistent_workers=False,
                        dataset=dict(data_root=data_root,
                                     pipeline=train_pipeline))
micro = dict(_delete_=True, embed_dims=32, depths=[2, 2, 2],
             num_heads=[2, 4, 8])
model = dict(
    backbone=dict(arch=micro, img_size=img_size, window_size=4,
                  out_indices=(2, )),
    neck=dict(in_channels=128, hid_channels=512),
    head=dict(predictor=dict(hid_channels=512)),
    queue_len=256)
max_epochs = 100
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 4, eta_min=1e-5,
         by_epoch=True, begin=4, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=4),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
