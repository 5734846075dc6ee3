# SwinV2-B, window 16.  Released: .../v2.0.0/swinv2_base_patch4_window16_256.pth
_base_ = './swinv2-base-w8_16xb64_in1k-256px.py'
model = dict(backbone=dict(window_size=16))
