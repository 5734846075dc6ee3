# iCAR's open-vocabulary video head (the author's Kinetics "language head")
# on the small Kinetics-400 set: SlowOnly ResNet3d-18 from scratch, pooled
# features projected without bias to the joint space and scored against the
# text encoder's embeddings of the action names (video templates: one sampled
# per class per step, the ensemble at test), temperature 0.05.
# With a trained iCAR text encoder, load it with
#   text_encoder=dict(..., init_cfg=dict(type='Pretrained', checkpoint=CKPT,
#                     prefix='text_classifier.text_encoder.'))
# and set test_class_text=dict(classes=[...unseen actions...]) for zero-shot
# recognition of another class list (K600 \ K400, UCF101, HMDB51, ...).
_base_ = ['../smoke/slowonly_r18_small-kinetics400.py',
          './_base_/tiny_text_encoder.py']
actions = ['abseiling', 'air drumming', 'answering questions', 'applauding',
           'applying cream']
model = dict(
    cls_head=dict(
        _delete_=True,
        type='visrep.ICARVideoHead',
        in_channels=512,
        embed_dim=64,
        text_classifier=dict(
            text_encoder={{_base_.tiny_text_encoder}},
            class_text=dict(classes=actions, description_mode='name',
                            templates='video'),
            temperature=0.05),
        average_clips='prob'))
