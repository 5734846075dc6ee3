# iCAR model: SwinV2-B image encoder (window 16, 256 px) + bias-free
# projection to the 256-d joint space; CLIP-style text Transformer (12
# layers, width 512, masked mean pooling, bias-free projection) trained here;
# cosine classifier with text-generated weights, fixed temperature 0.05.
model = dict(
    type='visrep.ICAR',
    backbone=dict(type='visrep.SwinTransformerV2', arch='base', img_size=256,
                  window_size=16, drop_path_rate=0.2),
    image_channels=1024,
    embed_dim=256,
    text_encoder=dict(type='visrep.ICARTextTransformer', embed_dim=256,
                      width=512, layers=12, heads=8, context_length=32,
                      pooling='mean'),
    temperature=0.05,
    learnable_temperature=False,
    itc_weight=1.0,
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        to_rgb=True))
