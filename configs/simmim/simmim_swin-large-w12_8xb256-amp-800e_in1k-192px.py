# SimMIM, Swin-L, window 12, 192 px, 800 epochs (official
# simmim_pretrain__swin_large__img192_window12__800ep.yaml).
_base_ = 'simmim_swin-base-w6_8xb256-amp-800e_in1k-192px.py'
model = dict(
    backbone=dict(arch='large', window_size=12),
    neck=dict(in_channels=192 * 2**3))
