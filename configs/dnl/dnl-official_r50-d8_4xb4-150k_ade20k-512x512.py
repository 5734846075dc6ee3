# Official DNL on ADE20K (NLnowd ADE20K config +
# run_fs_res101_nonlocalbn_ade20k_seg.sh recipe) on the setup of mmseg's
# dnl_r50-d8_4xb4-160k_ade20k-512x512.py (same model and data): the official
# head, OHEM cross-entropy, 150k iterations, lr 0.02, wd 1e-4, batch 16
# (4 GPUs x 4).  The official crop is 520; 512 keeps mmseg's pipeline.
_base_ = [
    './_base_/models/dnl-official_r50-d8.py', 'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py', './_base_/schedules/official-poly_80k.py'
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
max_iters = 150000
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=15000)
default_hooks = dict(checkpoint=dict(interval=15000))
optim_wrapper = dict(optimizer=dict(lr=0.02, weight_decay=1e-4))
