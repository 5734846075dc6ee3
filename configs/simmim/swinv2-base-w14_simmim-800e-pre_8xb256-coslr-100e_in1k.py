# SwinV2-B SimMIM (192 px / w12, 800 epochs) fine-tuned at 224 px / w14:
# official simmim_finetune__swinv2_base__img224_window14__800ep.yaml
# (pretrained windows 12, 12, 12, 6; layer decay 0.75; drop path 0.1).  The
# whole pre-training checkpoint is read by load_from (its mask token and
# decoder are not part of the classifier); or make a plain backbone file with
# tools/model_converters/ssl_to_backbone.py and use init_cfg.
_base_ = '_base_/simmim_finetune_swin.py'
load_from = 'work_dirs/simmim_swinv2-base-w12_8xb256-amp-800e_in1k-192px/epoch_800.pth'  # noqa
model = dict(
    backbone=dict(_delete_=True, type='visrep.SwinTransformerV2',
                  arch='base', img_size=224, window_size=14,
                  pretrained_window_sizes=(12, 12, 12, 6),
                  drop_path_rate=0.1))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))
