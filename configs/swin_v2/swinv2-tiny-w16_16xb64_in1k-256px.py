# SwinV2-T, window 16 (clipped to 16/8 on the 16x16/8x8 maps of stages 3/4).
# Released: .../v2.0.0/swinv2_tiny_patch4_window16_256.pth
_base_ = './swinv2-tiny-w8_16xb64_in1k-256px.py'
model = dict(backbone=dict(window_size=16))
