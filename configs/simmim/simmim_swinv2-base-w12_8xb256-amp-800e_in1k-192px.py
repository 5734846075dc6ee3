# SimMIM, SwinV2-B, window 12, 192 px, 800 epochs (official
# microsoft/Swin-Transformer simmim_pretrain__swinv2_base__img192_window12__800ep.yaml):
# normalised target (local mean/var, window 47), drop path 0.1, lr 1e-4 per
# 512, warmup 10 from 5e-7, x0.1 at epoch 700.
_base_ = 'simmim_swin-base-w6_8xb256-amp-800e_in1k-192px.py'
model = dict(
    backbone=dict(_delete_=True, type='visrep.MaskedSwinTransformerV2',
                  arch='base', img_size=192, window_size=12,
                  drop_path_rate=0.1, out_indices=(3, )),
    head=dict(norm_target=True, norm_target_kernel=47))
