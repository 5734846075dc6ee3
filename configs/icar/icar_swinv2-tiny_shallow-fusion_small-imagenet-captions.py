# Baseline "shallow fusion" (naive multi-task): a separate linear head on the
# pooled image feature for classes 0-4 + the image-text contrastive loss; the
# text encoder is trained by the captions only and gives the zero-shot
# classifier of the held-out classes 5-9 at validation.
_base_ = ['./_base_/icar_small-imagenet-captions.py']
model = dict(classifier='linear', test_classifier='text',
             linear=dict(num_classes=5, input='backbone'))
