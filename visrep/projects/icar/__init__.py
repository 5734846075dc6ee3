"""iCAR: image classification as image-text alignment (Wei et al., 2022) as
an OpenMMLab plugin.

Registers ``visrep.ICAR`` (mmpretrain model), the text encoders
``visrep.ICARTextTransformer`` / ``visrep.ICARHFTextEncoder``, the
open-vocabulary heads ``visrep.ICARVideoHead`` (mmaction2),
``visrep.ICARFCNHead`` / ``visrep.ICARUPerHead`` (mmseg), the datasets
``visrep.ImageCaptionDataset`` / ``visrep.KShotDataset``, the hooks
``visrep.ICARClassNamesHook`` / ``visrep.ICARPrototypeInitHook`` and the
Kornblith-12 metrics ``visrep.MeanPerClassAccuracy`` /
``visrep.VOC07ElevenPointMAP``.  See README.md.
"""
from visrep.extras import import_available, missing_modules

from .alignment import LogitScale, cosine_logits, image_text_contrastive_loss
from .class_text import class_texts, load_class_names, load_descriptions
from .datasets import ImageCaptionDataset, KShotDataset
from .distributed import shard_indices
from .hf_text_encoder import HFTextEncoder
from .hooks import ICARClassNamesHook, ICARPrototypeInitHook
from .templates import TEMPLATE_SETS, resolve_templates
from .text_classifier import ClassTextSet, TextCosineClassifier
from .text_encoder import TextTransformer, masked_mean
from .tokenizer import BPETokenizer

# the classifier and metrics (mmpretrain), the seg heads (mmseg) and the
# video head (mmaction2) need their extras
__getattr__ = import_available(globals(), __name__, {
    '.icar': ('icar', ['ICAR']),
    '.inferencers': ('icar', []),
    '.metrics': ('icar', ['MeanPerClassAccuracy', 'VOC07ElevenPointMAP',
                          'eleven_point_ap']),
    '.seg_head': ('seg', ['TextFCNHead', 'TextUPerHead']),
    '.video_head': ('video', ['VideoTextHead']),
})

__all__ = [
    'BPETokenizer', 'ClassTextSet', 'HFTextEncoder', 'ICAR',
    'ICARClassNamesHook', 'ICARPrototypeInitHook', 'ImageCaptionDataset',
    'KShotDataset', 'LogitScale', 'MeanPerClassAccuracy', 'TEMPLATE_SETS',
    'TextCosineClassifier', 'TextFCNHead', 'TextTransformer', 'TextUPerHead',
    'VOC07ElevenPointMAP', 'VideoTextHead', 'class_texts', 'cosine_logits',
    'eleven_point_ap', 'image_text_contrastive_loss', 'load_class_names',
    'load_descriptions', 'masked_mean', 'resolve_templates', 'shard_indices'
]

# the toolkits' inferencers run no hooks: give iCAR's text classifiers the
# classes tools/test.py gives them (see inferencers.py)
if not missing_modules('icar'):
    from .inferencers import install as _install_inferencers
    _install_inferencers()
