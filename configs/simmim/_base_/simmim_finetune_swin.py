# SimMIM fine-tuning of Swin V1 on ImageNet-1k, the official recipe
# (microsoft/SimMIM main_finetune.py + configs): 100 epochs, AdamW lr 1.25e-3
# per 512 (x 2048/512), wd 0.05 with the official no-decay set, layer-wise lr
# decay over get_swin_layer ids, warmup 20 epochs from 2.5e-7, cosine to
# 2.5e-7 (both scaled), grad clip 5, label smoothing 0.1, mixup 0.8 / cutmix
# 1.0, RandAugment m9 mstd0.5, random erasing 0.25 -- mmpretrain's SimMIM
# benchmark settings, with visrep.SwinTransformerV1, which reads our and the
# official SimMIM checkpoints and resizes the position-bias tables (window 6
# -> 7) by geometric-progression interpolation.
_base_ = 'mmpretrain::simmim/benchmarks/swin-base-w7_8xb256-coslr-100e_in1k.py'
pretrained = 'work_dirs/simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px/epoch_100.pth'  # noqa
model = dict(
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV1',
        arch='base',
        img_size=224,
        window_size=7,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')))
optim_wrapper = dict(
    constructor='visrep.LayerwiseOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.9))
