# UperNet with a SwinV2-G backbone on ADE20K, 640 x 640 crops, window 40: the
# paper's SwinV2-G setting (appendix A2.2): AdamW lr 4e-5, wd 0.05 (none on the
# official no-decay set), 80k iterations, batch 32, 750 iterations of linear
# warm-up then linear decay, drop path 0.4, mmseg's augmentation (flip, resize
# 0.5-2.0, photometric distortion), under FSDP: 16 GPUs x 2. The backbone
# starts from the SimMIM pre-training (192 px, window 12; the paper's from its
# supervised stage on ImageNet-22K-ext).  mmseg's EncoderDecoder runs under
# FlexibleRunner as under Runner: the FSDP wrapper calls its data_preprocessor
# and forward(mode='loss').
_base_ = [
    'mmseg::_base_/models/upernet_swin.py',
    'mmseg::_base_/datasets/ade20k_640x640.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    './_base_/strategies/fsdp.py',
]
crop_size = (640, 640)
pretrained = 'work_dirs/simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px/iter_151909.pth'  # noqa
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        _delete_=True,
        type='visrep.SwinTransformerV2',
        arch='giant',
        img_size=640,
        window_size=40,
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.4,
        out_indices=(0, 1, 2, 3),
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='backbone.')),
    decode_head=dict(in_channels=[512, 1024, 2048, 4096], num_classes=150),
    auxiliary_head=dict(in_channels=2048, num_classes=150))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-5, betas=(0.9, 0.999),
                   weight_decay=0.05),
    constructor='visrep.LayerwiseOptimWrapperConstructor')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=750),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=750,
         end=80000),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
