# iCAR's open-vocabulary segmentation head (the author's ADE20K "lanhead")
# on the small ADE20K set: mmseg's FCN head whose 1x1 classifier is replaced
# by a bias-free projection to the joint space and per-pixel cosine logits
# against the text encoder's embeddings of the 150 class names (CLIP's
# ImageNet templates: one sampled per class per step, the ensemble at test),
# temperature 0.05.  The names come from the dataset (ICARClassNamesHook).
_base_ = ['../smoke/fcn_r18-d8_small-ade20k.py',
          './_base_/tiny_text_encoder.py']
model = dict(
    decode_head=dict(
        type='visrep.ICARFCNHead',
        num_classes=150,
        embed_dim=64,
        text_classifier=dict(
            text_encoder={{_base_.tiny_text_encoder}},
            class_text=dict(classes=None, description_mode='name',
                            templates='openai_imagenet'),
            temperature=0.05)))
custom_hooks = [dict(type='visrep.ICARClassNamesHook')]
