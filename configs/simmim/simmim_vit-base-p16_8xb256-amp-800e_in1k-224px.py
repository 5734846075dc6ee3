# SimMIM, ViT-B/16, 224 px, 800 epochs (official
# simmim_pretrain__vit_base__img224__800ep.yaml): BEiT-style blocks (q/v bias,
# layer scale 0.1, shared relative position bias, no absolute position
# embedding), drop path 0.1, 7x7 mask cells of 32 px (30 masked) upsampled to
# the 14x14 tokens, decoder stride 16; lr 1e-4 per 512, warmup 10 from 5e-7,
# x0.1 at epoch 700.
_base_ = 'simmim_swin-base-w6_8xb256-amp-800e_in1k-192px.py'
img_size = 224
model_patch_size = 16
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    backbone=dict(_delete_=True, type='visrep.MaskedSimMIMViT', arch='base',
                  img_size=img_size, patch_size=16, drop_path_rate=0.1),
    neck=dict(in_channels=768, encoder_stride=16),
    head=dict(patch_size=model_patch_size))
