# Swin-B SimMIM (192 px / w6, 800 epochs) fine-tuned at 224 px / w7:
# official simmim_finetune__swin_base__img224_window7__800ep.yaml (layer decay
# 0.8).  Paper: 84.0 top-1.
_base_ = '_base_/simmim_finetune_swin.py'
pretrained = 'work_dirs/simmim_swin-base-w6_8xb256-amp-800e_in1k-192px/epoch_800.pth'  # noqa
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained)))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.8))
