# SimMIM pre-training, shared by the Swin / SwinV2 / ViT configs: the official
# recipe (microsoft/SimMIM main_simmim.py + configs): RandomResizedCrop
# (scale 0.67-1, ratio 3/4-4/3) + flip, ImageNet mean/std, one random mask per
# image (exactly ceil(0.6 * cells) cells of 32 px), AdamW (0.9, 0.999),
# eps 1e-8, wd 0.05 with the official no-decay set, grad clip 5, AMP, lr per
# 512 images scaled linearly (auto_scale_lr), per-iteration warmup.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs256_simmim_192.py',
    'mmpretrain::_base_/default_runtime.py',
]
img_size = 192
model_patch_size = 4
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.67, 1.0), aspect_ratio_range=(3. / 4., 4. / 3.)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='visrep.SimMIMMaskGenerator', input_size=img_size,
         mask_patch_size=32, model_patch_size=model_patch_size,
         mask_ratio=0.6),
    dict(type='PackInputs'),
]
# (re-stated: an inherited `mmpretrain::` collate_fn gets a `_scope_` key
# that mmengine then passes to default_collate)
train_dataloader = dict(drop_last=True,
                        collate_fn=dict(_delete_=True, type='default_collate'),
                        dataset=dict(pipeline=train_pipeline))
model = dict(
    type='visrep.SimMIM',
    neck=dict(type='SimMIMLinearDecoder', encoder_stride=32),
    head=dict(type='visrep.SimMIMHead', patch_size=model_patch_size))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4 * 2048 / 512, betas=(0.9, 0.999),
                   eps=1e-8, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0),
    constructor='visrep.LayerwiseOptimWrapperConstructor')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=2048)
