# SwinV2-G fine-tuning on ImageNet-1k at 640 px, window 40:
# swinv2-giant-w40_simmim-pre_fsdp-64xb9-bf16-10e_in1k-640px.py under DeepSpeed
# ZeRO stage 1 (the paper's engine) instead of FSDP; needs the deepspeed
# package.
_base_ = [
    './_base_/finetune_giant_in1k.py', './_base_/datasets/imagenet_640px.py',
    './_base_/strategies/deepspeed_zero1.py'
]
model = dict(
    backbone=dict(arch='giant', img_size=640, window_size=40,
                  attn_chunk_size=(4, 4, 0, 0)),
    head=dict(in_channels=512 * 2**3))
train_dataloader = dict(batch_size=9)
load_from = 'work_dirs/simmim_swinv2-giant-w12_fsdp-64xb144-bf16-152k_in1k-192px/iter_151909.pth'  # noqa
# DeepSpeed builds and steps the optimizer and clips the gradients itself
optim_wrapper = dict(
    _delete_=True,
    type='DeepSpeedOptimWrapper',
    optimizer={{_base_.optim_wrapper.optimizer}},
    constructor={{_base_.optim_wrapper.constructor}},
    paramwise_cfg={{_base_.optim_wrapper.paramwise_cfg}})
strategy = dict(gradient_clipping={{_base_.optim_wrapper.clip_grad.max_norm}})
