# ImageNet-1k fine-tuning data at 384 px: the 256 px augmentation
# (RandomResizedCrop, flip, RandAugment m9 mstd0.5, random erasing 0.25) at
# 384; test images resized to 384 x 384 without cropping (mmpretrain's and
# the official Swin convention from 384 px up).
_base_ = './imagenet_256px.py'
img_size = 384
bgr_mean = [103.53, 116.28, 123.675]
rand_augment = dict(
    type='RandAugment', policies='timm_increasing', num_policies=2,
    total_level=10, magnitude_level=9, magnitude_std=0.5,
    hparams=dict(pad_val=[round(x) for x in bgr_mean],
                 interpolation='bicubic'))
random_erasing = dict(
    type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02,
    max_area_ratio=1 / 3, fill_color=bgr_mean,
    fill_std=[57.375, 57.12, 58.395])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    rand_augment,
    random_erasing,
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_size, backend='pillow',
         interpolation='bicubic'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
