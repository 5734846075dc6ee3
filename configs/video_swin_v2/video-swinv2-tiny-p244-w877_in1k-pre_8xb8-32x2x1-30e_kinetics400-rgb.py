# Video SwinV2-T on Kinetics-400: 32 frames (stride 2), 224 px, temporal
# patch 2, window 8x7x7 -- the Video Swin recipe of mmaction2's Swin-T config
# (AdamW 1e-3 for batch 64, wd 0.02, backbone lr x0.1, 2.5-epoch warmup,
# cosine over 30 epochs, 4 clips x 3 crops at test), with the SwinV2 backbone
# inflated from the official 2-D SwinV2-T ImageNet-1k weights (256 px,
# window 8: the position bias normalises the spatial offsets by the
# pretrained window 8, the temporal ones by the current window).
# Mixed precision: add --amp (fp16 + dynamic loss scale on GPU, bf16 on CPU;
# SwinV2 has known fp16 NaNs, microsoft/Swin-Transformer#287: bf16 is safer).
_base_ = 'mmaction::recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py'
pretrained = 'https://github.com/SwinTransformer/storage/releases/download/v2.0.0/swinv2_tiny_patch4_window8_256.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.VideoSwinTransformerV2',
        arch='tiny',
        patch_size=(2, 4, 4),
        window_size=(8, 7, 7),
        pretrained_window_sizes=8,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    cls_head=dict(in_channels=768))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.02),
    # the official SwinV2 no-decay set (1-D params, biases, cpb_mlp,
    # logit_scale) everywhere, and the Video Swin backbone lr ratio 0.1
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.1))))
