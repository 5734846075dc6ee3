# Stock mmseg FCN (dilated ResNet-18, from scratch) on the small Cityscapes
# set: proves the segmentation stack on CPU; the small Cityscapes base.
_base_ = [
    '../_base_/models/fcn_r18-d8.py', '../_base_/datasets/small/cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/small_seg_35iters.py'
]
crop_size = (128, 256)
model = dict(data_preprocessor=dict(size=crop_size))
