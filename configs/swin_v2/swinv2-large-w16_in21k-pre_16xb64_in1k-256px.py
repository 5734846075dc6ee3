# SwinV2-L 22K -> 1k at 256 px, window 16.
# Released: .../v2.0.0/swinv2_large_patch4_window12to16_192to256_22kto1k_ft.pth
_base_ = './swinv2-base-w16_in21k-pre_16xb64_in1k-256px.py'
model = dict(backbone=dict(arch='large'), head=dict(in_channels=1536))
load_from = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_large_patch4_window12_192_22k.pth'  # noqa
