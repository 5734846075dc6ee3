# Stock mmseg FCN (dilated ResNet-18, from scratch) on the small ADE20K set:
# proves the segmentation stack on CPU; the small ADE20K base for plugins.
_base_ = [
    '../_base_/models/fcn_r18-d8.py', '../_base_/datasets/small/ade20k.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/small_seg_35iters.py'
]
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
