# SwinV2-B pre-trained on ImageNet-22K (192 px, window 12), fine-tuned on
# ImageNet-1k at 256 px with window 16 (official 22K->1K recipe).  The 22K
# checkpoint loads unconverted: its head keeps the 1k rows (official
# map22kto1k) and the position bias is normalised by the pretrained windows.
# Released fine-tuned weights (test with tools/test.py <config> <pth>):
#   https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_base_patch4_window12to16_192to256_22kto1k_ft.pth
_base_ = [
    'mmpretrain::_base_/models/swin_transformer_v2/base_256.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_256.py',
    './_base_/schedules/swinv2_22kto1k_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='base',
        img_size=256,
        window_size=16,
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.2))
load_from = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_base_patch4_window12_192_22k.pth'  # noqa
