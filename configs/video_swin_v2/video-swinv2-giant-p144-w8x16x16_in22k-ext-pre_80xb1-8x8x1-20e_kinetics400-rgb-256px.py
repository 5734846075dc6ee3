# Reference config: stage 1 of the SwinV2 paper's Video-SwinV2-G Kinetics-400
# fine-tuning (paper Sec. 4 / appendix): 256x256x8 input, window 16x16x8,
# AdamW, 20 epochs, cosine, 2.5-epoch warmup, batch 80, lr 3.6e-4, wd 0.1,
# activation checkpointing.  From the SwinV2-G image model (SimMIM + IN-22K-ext
# supervised, 192 px, window 12; weights never released): pretrained windows
# (12, 12, 12, 6).  Not stated in the paper, our choices: temporal patch 1,
# frame stride 8, drop path 0.2.  Stage 2:
# video-swinv2-giant-p144-w8x20x20_stage1-pre_64xb1-8x8x1-5e_kinetics400-rgb-320px.py
_base_ = './video-swinv2-tiny-p144-w8x16x16_in1k-pre_8xb8-8x8x1-30e_kinetics400-rgb-256px.py'
model = dict(
    backbone=dict(
        arch='giant',
        pretrained_window_sizes=(12, 12, 12, 6),
        drop_path_rate=0.2,
        with_cp=True,
        init_cfg=None),  # set checkpoint= to the SwinV2-G image weights
    cls_head=dict(in_channels=4096))
train_dataloader = dict(batch_size=1)  # x 80 GPUs
max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
optim_wrapper = dict(
    optimizer=dict(lr=3.6e-4, weight_decay=0.1),
    paramwise_cfg=dict(custom_keys=dict(_delete_=True)))  # one lr (paper)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0,
         end=2.5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0,
         by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=80)
