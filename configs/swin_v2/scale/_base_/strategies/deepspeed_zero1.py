# mmengine's DeepSpeedStrategy, ZeRO stage 1 (the paper's engine, section
# 3.5: AdamW states sharded, parameters and gradients replicated), bf16
# parameters and activations with fp32 master weights.  Needs the deepspeed
# package, which requirements/ leaves out: mmengine 0.10.7 imports
# deepspeed.runtime.fp16.onebit (gone since deepspeed 0.19.7), and with one
# parameter group per parameter (visrep.LayerwiseOptimWrapperConstructor)
# deepspeed 0.17.6 and 0.18.0 fail on 2 ranks (IndexError in
# get_flat_partition); 0.16.9 trained (configs/swin_v2/scale/README.md).
# A config using it also sets
#   optim_wrapper = dict(_delete_=True, type='DeepSpeedOptimWrapper', ...)
#   strategy = dict(gradient_clipping=...)  # DeepSpeed clips, not the wrapper
# FlexibleRunner fills in train_micro_batch_size_per_gpu from
# train_dataloader.batch_size.  `inputs_to_half` casts the preprocessed
# images to the engine's bf16 (its forward does not autocast).
strategy = dict(
    type='DeepSpeedStrategy',
    zero_optimization=dict(stage=1),
    bf16=dict(enabled=True),
    inputs_to_half=['inputs'])
