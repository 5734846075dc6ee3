# The detection schedule of the official CBN code
# (Howal/Cross-iterationBatchNorm configs/cbn/*_1x.py) on mmdet's 1x:
# 4 GPUs x 4 images (the configs set train_dataloader.batch_size=4), SGD
# lr 0.02, momentum 0.9, wd 1e-4, grad clip 35, linear warmup 500 iterations
# from 1/3, 12 epochs with steps at 8 and 11.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR', begin=0, end=12, by_epoch=True,
        milestones=[8, 11], gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=16)
