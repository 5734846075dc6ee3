# Mask R-CNN, Swin-T initialised from MoBY (300 epochs), FPN, 1x on COCO:
# mmdet's Swin-T recipe (AdamW 1e-4, wd 0.05, drop path 0.2, no decay on
# norms and position-bias tables) with the MoBY backbone.  Paper (Swin-Det):
# box/mask AP 43.6 / 39.6 (supervised 43.7 / 39.8).
_base_ = 'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py'
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
