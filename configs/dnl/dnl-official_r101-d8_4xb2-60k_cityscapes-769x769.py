# Official DNL on Cityscapes (NLnowd_ln config +
# run_fs_res101_nonlocalnowd_ln_cityscapes_seg.sh) on the setup of mmseg's
# dnl_r101-d8_4xb2-80k_cityscapes-769x769.py (same model, data, crops and
# sliding test): the official head; OHEM cross-entropy with the official
# class weights, sum(w_y * l) over the kept pixels / their number (official
# OhemCELoss), and the DSN head's class-weighted cross-entropy, PyTorch's
# weighted mean (official nn.CrossEntropyLoss; mmseg 1.2.2's CrossEntropyLoss
# crashes on class weights, mmseg#3734); 60k iterations,
# lr 0.01, wd 5e-4; batch 8 (4 GPUs x 2).
_base_ = [
    './_base_/models/dnl-official_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes_769x769.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/official-poly_80k.py'
]
crop_size = (769, 769)
class_weight = [
    0.8373, 0.9180, 0.8660, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786,
    1.0023, 0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529,
    1.0507
]
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(loss_decode=dict(class_weight=class_weight)),
    auxiliary_head=dict(loss_decode=dict(class_weight=class_weight)),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(513, 513)))
max_iters = 60000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=6000)
default_hooks = dict(checkpoint=dict(interval=6000))
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=5e-4))
