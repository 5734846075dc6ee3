# Ablation: classification only (itc_weight=0, no caption pairs), same model,
# batch size (32, all labelled) and schedule; validation = zero-shot on the
# held-out classes 5-9.
_base_ = ['./_base_/icar_small-imagenet-captions.py']
model = dict(itc_weight=0.0)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(datasets=[{{_base_.labelled}}]))
