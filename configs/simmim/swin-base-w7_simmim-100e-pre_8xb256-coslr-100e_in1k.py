# Swin-B SimMIM (192 px / w6, 100 epochs) fine-tuned at 224 px / w7:
# official simmim_finetune__swin_base__img224_window7__100ep.yaml (layer decay
# 0.9, drop path 0.1).  Paper: 83.5 top-1.
_base_ = '_base_/simmim_finetune_swin.py'
