# SwinV2-B (window 8), drop path 0.5.  Released: .../v2.0.0/swinv2_base_patch4_window8_256.pth
_base_ = './swinv2-tiny-w8_16xb64_in1k-256px.py'
model = dict(
    backbone=dict(arch='base', drop_path_rate=0.5),
    head=dict(in_channels=1024))
