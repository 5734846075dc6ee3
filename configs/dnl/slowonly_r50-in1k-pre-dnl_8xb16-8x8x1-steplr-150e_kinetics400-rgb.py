# mmaction2's SlowOnly R50 8x8 non-local config with 3-D DNL blocks at the
# same five positions (res3: blocks 0, 2; res4: blocks 0, 2, 4), after the
# block's residual addition and ReLU as mmaction places NonLocal3d; the
# official block with key/value max-pooling 1x2x2 (the stock config's
# sub_sample); no weight decay on the query/key convs.
_base_ = ('mmaction::recognition/slowonly/slowonly_r50-in1k-pre-nl-'
          'embedded-gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py')
model = dict(
    backbone=dict(
        type='visrep.ResNet3dSlowOnlyDNL', dnl_cfg=dict(downsample=True)))
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            '.conv_query': dict(decay_mult=0.0),
            '.conv_key': dict(decay_mult=0.0)
        }))
