# Baseline for the deep-fusion ablation: naive multi-task learning with two
# separate heads -- a linear classifier of the 21,841 classes on the pooled
# image feature + the image-text contrastive loss; zero-shot evaluation uses
# the text encoder (trained by the captions only).
_base_ = ['./icar_swinv2-base-w16_16xb128_in22k+captions-256px.py']
model = dict(classifier='linear', test_classifier='text',
             linear=dict(num_classes=21841, input='backbone'))
