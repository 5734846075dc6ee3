# UperNet, Swin-T from MoBY (300 epochs), ADE20K 512x512, 160k iterations:
# mmseg's Swin-T recipe (AdamW 6e-5, wd 0.01, drop path 0.3, warmup 1500,
# poly).  Paper: 44.06 mIoU single scale (45.58 ms+flip); supervised 44.51
# (45.81).
_base_ = 'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py'  # noqa
pretrained = 'work_dirs/moby_swin-tiny_8xb64-amp-coslr-300e_in1k/epoch_300.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV1',
        arch='tiny',
        img_size=224,
        window_size=7,
        drop_path_rate=0.3,
        out_indices=(0, 1, 2, 3),
        pad_small_map=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')))
