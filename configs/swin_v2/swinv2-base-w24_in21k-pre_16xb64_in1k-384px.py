# SwinV2-B 22K -> 1k at 384 px, window 24 (pretrained windows 12, 12, 12, 6).
# Released: .../v2.0.0/swinv2_base_patch4_window12to24_192to384_22kto1k_ft.pth
_base_ = [
    'mmpretrain::_base_/models/swin_transformer_v2/base_384.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_384.py',
    './_base_/schedules/swinv2_22kto1k_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='base',
        img_size=384,
        window_size=24,
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.2))
load_from = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_base_patch4_window12_192_22k.pth'  # noqa
