# The small-data text encoder: a 2-layer, 64-wide CLIP-style Transformer
# (masked mean pooling, bias-free projection to a 64-d joint space).
tiny_text_encoder = dict(
    type='visrep.ICARTextTransformer', embed_dim=64, width=64, layers=2,
    heads=2, context_length=24)
