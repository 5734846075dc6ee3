# Swin-L SimMIM (192 px / w12, 800 epochs) fine-tuned at 224 px / w14:
# official simmim_finetune__swin_large__img224_window14__800ep.yaml (layer
# decay 0.7, drop path 0.2).  Paper: 85.4 top-1.
_base_ = '_base_/simmim_finetune_swin.py'
pretrained = 'work_dirs/simmim_swin-large-w12_8xb256-amp-800e_in1k-192px/epoch_800.pth'  # noqa
model = dict(
    backbone=dict(arch='large', window_size=14, drop_path_rate=0.2,
                  init_cfg=dict(checkpoint=pretrained)),
    head=dict(in_channels=1536))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.7))
