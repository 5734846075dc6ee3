# SwinV2-S (window 8), drop path 0.3.  Released: .../v2.0.0/swinv2_small_patch4_window8_256.pth
_base_ = './swinv2-tiny-w8_16xb64_in1k-256px.py'
model = dict(backbone=dict(arch='small', drop_path_rate=0.3))
