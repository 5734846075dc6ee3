# The two views of the official MoBY pre-training (Transformer-SSL,
# SSL_AUG_TYPE='byol': BYOL-asymmetric): RandomResizedCrop(img_size, scale
# 0.08-1, bilinear, PIL), flip, colour jitter 0.4/0.4/0.2/0.1 p=0.8,
# grayscale p=0.2, then Gaussian blur p=1.0 / 0.1 and solarize p=0 / 0.2.
# A config for another crop size sets img_size and re-crops common_view
# (see small/moby_swin-micro_small-imagenet.py).
img_size = 224
# torchvision's ColorJitter, as the official code: mmcv 2.1's adjust_hue
# (behind mmpretrain's ColorJitter) fails on NumPy 2 for negative hue shifts
color_jitter = [
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4,
         saturation=0.2, hue=0.1),
    dict(type='PILToNumpy', to_bgr=True),
]
# the two views differ only in blur and solarization (BYOL-asymmetric)
common_view = [
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.08, 1.),
         interpolation='bilinear', backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomApply', prob=0.8, transforms=color_jitter),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
]
view_pipeline1 = common_view + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=1.0),
    dict(type='Solarize', thr=128, prob=0.0),
]
view_pipeline2 = common_view + [
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.1),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=[1, 1],
         transforms=[view_pipeline1, view_pipeline2]),
    dict(type='PackInputs'),
]
