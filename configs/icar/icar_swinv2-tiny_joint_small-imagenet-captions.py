# iCAR deep fusion (default): classification over text-generated weights on
# the labelled classes 0-4 + image-text contrastive loss on caption pairs
# (lambda = 1); validation = zero-shot on the held-out classes 5-9.
_base_ = ['./_base_/icar_small-imagenet-captions.py']
