"""The compatibility layer: everything the pinned stack needs on this platform.

Pinned stack: torch 2.13, mmcv 2.1.0, mmengine 0.10.7, mmdet 3.3.0,
mmseg 1.2.2, mmpretrain 1.2.0, mmaction2 1.2.0 on Python 3.11 and NumPy 2.
Installed files are never edited; each fix is a small, documented patch of
one mechanism, applied once when :mod:`visrep` is imported (every plugin
imports it through :mod:`visrep.registry`).

==================================  ===========================================
module                              fixes
==================================  ===========================================
:mod:`.weights_only_load`           torch>=2.6 ``weights_only`` loading of
                                    mmengine checkpoints (resume,
                                    ``load_from``) with an explicit
                                    allow-list: no code runs from a file
:mod:`.atomic_save`                 checkpoints written to a temporary file
                                    and renamed (no truncated ``.pth``)
:mod:`.last_checkpoint`             ``last_checkpoint`` relative to the work
                                    dir; auto-resume that finds checkpoints
                                    but no record stops instead of
                                    overwriting them
:mod:`.mmaction_drn`                mmaction2 1.2.0 ships without
                                    ``models/localizers/drn`` (import fails)
:mod:`.numpy_aliases`               names removed by NumPy 2 used at run time
:mod:`.mmengine_config`             frozen stdlib modules in lazy-import
                                    configs (Python >= 3.11)
:mod:`.mmengine_package_configs`    ``visrep::<path>`` config names
                                    (``_base_``, ``Config.fromfile``,
                                    ``mmengine.hub.get_config``): mmengine
                                    knows only OpenMMLab packages
:mod:`.distributed`                 distributed launch without CUDA (gloo)
:mod:`.fsdp_strategy`               mmengine's ``FSDPStrategy`` without CUDA
                                    (FSDP of CPU modules)
:mod:`.flexible_runner_compile`     ``compile=...`` dropped by
                                    ``FlexibleRunner.from_cfg`` (``strategy``
                                    configs)
:mod:`.zero_redundancy_checkpoint`  ZeRO-1 checkpoints on several ranks (the
                                    rank-0-only saving hung in the optimizer
                                    state consolidation)
:mod:`.mmengine_test_json`          every rank writing the same test-metrics
                                    json at once (``dist_test.sh``)
:mod:`.load_state_dict_adapters`    mmengine's ``load_state_dict`` gives a
                                    module no way to read foreign checkpoint
                                    keys: it now runs the models'
                                    ``adapt_state_dict`` first
==================================  ===========================================

:mod:`.import_hooks` is the mechanism two of them use (post-import
callbacks, stand-ins for modules a package failed to ship).
"""
import warnings

from . import (atomic_save, distributed, flexible_runner_compile,
               fsdp_strategy, last_checkpoint, load_state_dict_adapters,
               mmaction_drn, mmengine_config, mmengine_package_configs,
               mmengine_test_json, numpy_aliases, weights_only_load,
               zero_redundancy_checkpoint)
from . import config_errors  # noqa: F401  (installs itself on import)
from . import input_errors  # noqa: F401  (installs itself on import)

_applied = False


def apply() -> None:
    """Apply every fix (idempotent)."""
    global _applied
    if _applied:
        return
    # mmengine 0.10.7 and mmcv import pkg_resources (kept by the setuptools<81
    # pin); its deprecation notice would otherwise print on every run.
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)
    mmaction_drn.install()
    numpy_aliases.install()
    mmengine_config.install()
    mmengine_package_configs.install()
    weights_only_load.install()
    atomic_save.install()
    last_checkpoint.install()
    distributed.install()
    fsdp_strategy.install()
    flexible_runner_compile.install()
    zero_redundancy_checkpoint.install()
    mmengine_test_json.install()
    load_state_dict_adapters.install()
    _applied = True


apply()
