# Mask R-CNN 3x (multi-scale crop), Swin-T from MoBY.  Paper: 46.0 / 41.7
# (supervised 46.0 / 41.6).
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_ms-crop-3x_coco.py'
pretrained = 'work_dirs/moby_swin-tiny_8xb64-amp-coslr-300e_in1k/epoch_300.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV1',
        arch='tiny',
        img_size=224,
        window_size=7,
        drop_path_rate=0.2,
        out_indices=(0, 1, 2, 3),
        pad_small_map=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')))
