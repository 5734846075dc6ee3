# Balanced Sparsity in its N:M form, SwinV2-T (window 8) / ImageNet at 256 px:
# fine-tune the official release (top-1 81.8) to 2:4 sparsity -- banks of 4
# along the input features of every Linear layer (qkv, proj, MLP, patch
# merging), the pattern of NVIDIA sparse tensor cores, convertible with
# tools/model_converters/balanced_to_semi_structured.py.  The patch embedding
# (first) and the classifier (last) stay dense, and so does the continuous
# position-bias MLP (its first layer has 2 inputs; official no-decay set).
# Gradual over the first 10 of the official 30-epoch fine-tuning schedule
# (configs/swin_v2/_base_/schedules/swinv2_22kto1k_30e.py: AdamW 2e-5 per 512
# images, wd 1e-8, 5 warmup epochs, cosine, grad clip 5); 2:4 has the levels
# 0, 1/4 and 2/4.  Model and data as configs/swin_v2/swinv2-tiny-w8_*.py.
_base_ = [
    'mmpretrain::_base_/models/swin_transformer_v2/tiny_256.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_256.py',
    '../swin_v2/_base_/schedules/swinv2_22kto1k_30e.py',
    'mmpretrain::_base_/default_runtime.py'
]
model = dict(backbone=dict(_delete_=True, type='visrep.SwinTransformerV2',
                           arch='tiny', img_size=256, window_size=8,
                           drop_path_rate=0.2))
load_from = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_tiny_patch4_window8_256.pth'  # noqa
custom_hooks = [
    dict(type='visrep.BalancedSparsityHook', n_m=(2, 4), exclude=['cpb_mlp'],
         begin=0, end=10, interval=1, by_epoch=True)
]
