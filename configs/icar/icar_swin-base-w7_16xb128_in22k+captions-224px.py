# As the SwinV2 recipe, with the image encoder of iCAR's released model:
# Swin V1-B (mmpretrain.SwinTransformer, window 7, 224 px).
_base_ = ['./icar_swinv2-base-w16_16xb128_in22k+captions-256px.py']
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.SwinTransformer',
                  arch='base', img_size=224, drop_path_rate=0.2))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=['caption']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(datasets=[
    dict(type='ImageNet21k', data_root='data/imagenet21k',
         ann_file='meta/train.txt', data_prefix='train',
         pipeline=train_pipeline),
    dict(type='visrep.ImageCaptionDataset', data_root='data/captions',
         ann_file='train.txt', data_prefix='images', pipeline=train_pipeline)
]))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
