# ViT-B/16 SimMIM (224 px, 800 epochs) fine-tuned at 224 px: official
# simmim_finetune__vit_base__img224__800ep.yaml -- the shared relative
# position bias copied into every block, mean pooling + fc_norm, drop path
# 0.1, layer decay 0.65.  Paper: 83.8 top-1.
_base_ = '_base_/simmim_finetune_swin.py'
pretrained = 'work_dirs/simmim_vit-base-p16_8xb256-amp-800e_in1k-224px/epoch_800.pth'  # noqa
model = dict(
    backbone=dict(_delete_=True, type='visrep.SimMIMViT', arch='base',
                  img_size=224, patch_size=16, drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                                prefix='backbone.')),
    neck=None,
    head=dict(in_channels=768))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.65))
