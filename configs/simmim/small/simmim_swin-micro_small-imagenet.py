# SimMIM pre-training of a micro Swin V1 (C=32, depths 2-2-2, stride 16) on
# the small ImageNet set (400 images, 64 px): the official pipeline and loss
# scaled to CPU -- 64 px crops, mask cells of 16 px (one final-stage token;
# 16 cells, 10 masked), decoder stride 16, batch 32, AdamW 2e-3, 40 epochs.
# The fine-tuning comparison is swin-micro_simmim-pre_small-imagenet.py.
_base_ = '../simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py'
# reads the generated small set under data/small/ (see
# configs/_base_/datasets/small/imagenet.py for `small_data`)
small_data = True
data_root = 'data/small/imagenet/'
img_size = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.67, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='visrep.SimMIMMaskGenerator', input_size=img_size,
         mask_patch_size=16, model_patch_size=4, mask_ratio=0.6),
    dict(type='PackInputs'),
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
    neck=dict(in_channels=128, encoder_stride=16))
max_epochs = 40
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 4, eta_min=2e-5,
         by_epoch=True, begin=4, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=4),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
