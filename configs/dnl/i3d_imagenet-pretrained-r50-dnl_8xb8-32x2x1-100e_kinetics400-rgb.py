# mmaction2's I3D R50 32x2 non-local config with 3-D DNL blocks at the same
# five positions (res3: blocks 1, 3; res4: blocks 1, 3, 5), after the
# block's residual addition and ReLU; the official block with key/value
# max-pooling 1x2x2 (the stock config's sub_sample); no weight decay on the
# query/key convs.
_base_ = ('mmaction::recognition/i3d/i3d_imagenet-pretrained-r50-nl-'
          'embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py')
model = dict(
    backbone=dict(type='visrep.ResNet3dDNL', dnl_cfg=dict(downsample=True)))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            '.conv_query': dict(decay_mult=0.0),
            '.conv_key': dict(decay_mult=0.0)
        }))
