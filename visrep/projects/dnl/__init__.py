"""Disentangled Non-Local blocks (Yin et al., ECCV 2020) as an OpenMMLab plugin.

Registers ``visrep.DNLBlock`` (and ``DNLBlock1d/2d/3d``: mmcv plugin layers
for any ResNet), ``visrep.DNLOfficialHead`` (mmseg decode head) and
``visrep.ResNet3dDNL`` / ``visrep.ResNet3dSlowOnlyDNL`` (mmaction2 3-D
ResNets with DNL blocks where ``non_local`` flags them) and
``visrep.ClassWeightedCrossEntropyLoss`` (the official class-weighted loss,
which mmseg 1.2.2's ``CrossEntropyLoss`` cannot compute).  See README.md.
"""
from visrep.extras import import_available

from .attention import pairwise_weights, unary_weights, whiten
from .block import (DNLBlock, DNLBlock1d, DNLBlock2d, DNLBlock3d,
                    build_dnl_block)
from .checkpoint import convert_mmseg_dnl
from .loss import ClassWeightedCrossEntropyLoss

# the mmseg head and the mmaction2 backbones need their toolkit's extra
__getattr__ = import_available(globals(), __name__, {
    '.head': ('seg', ['MMSEG_DNL_BLOCK', 'DNLOfficialHead']),
    '.resnet3d': ('video', ['ResNet3dDNL', 'ResNet3dSlowOnlyDNL',
                            'replace_non_local']),
})

#: ``paramwise_cfg`` giving the query/key convs no weight decay (official
#: ``nowd=['nl']``) in any mmengine optimizer wrapper
NO_DECAY_QUERY_KEY = dict(custom_keys={
    '.conv_query': dict(decay_mult=0.0),
    '.conv_key': dict(decay_mult=0.0),
})

__all__ = ['ClassWeightedCrossEntropyLoss', 'DNLBlock', 'DNLBlock1d', 'DNLBlock2d', 'DNLBlock3d',
           'DNLOfficialHead', 'MMSEG_DNL_BLOCK', 'NO_DECAY_QUERY_KEY',
           'ResNet3dDNL', 'ResNet3dSlowOnlyDNL', 'build_dnl_block',
           'convert_mmseg_dnl', 'pairwise_weights', 'replace_non_local',
           'unary_weights', 'whiten']
