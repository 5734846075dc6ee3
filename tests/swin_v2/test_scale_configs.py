"""The SwinV2-L/H/G configs for sharded training (``configs/swin_v2/scale/``).

Every config loads and passes the checks ``tools/train.py`` runs; its
engine is the intended one (FSDP: one unit per SwinV2 block, bf16
parameters with fp32 reductions, ``with_cp``; DeepSpeed: ZeRO stage 1 or 2
in bf16, with the DeepSpeed config mmengine's strategy would hand to
``deepspeed.initialize`` -- built without the package; ZeRO-1 under DDP:
mmengine's ``ZeroRedundancyOptimizer``); the variants keep their FSDP
sibling's recipe; the models, built on the meta device, have the paper's
parameter counts and windows that tile every stage; fine-tuning configs
start from a checkpoint a pre-training config of the folder writes, with
that config's windows as pretrained windows; and the G fine-tune at 640 px
trains one iteration under its FSDP strategy with a tiny arch.
"""
import copy
import functools
import glob
import inspect
import os
import os.path as osp
import re
import types

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import FUNCTIONS, MODELS, DefaultScope

from visrep.cli.common import (adapt_to_cpu_distributed, build_runner,
                               toolkit_of)
from visrep.cli.config_checks import ConfigError, check_config
from visrep.projects.swin_v2.block import SwinV2Block
from visrep.projects.swin_v2.windows import fit_window

from _helpers import REPO_ROOT
from _helpers.ports import free_port
from _helpers.small_data import BACKBONE_SHRINKERS, load_plugin_shrinkers

FOLDER = osp.join(REPO_ROOT, 'configs', 'swin_v2', 'scale')
CONFIGS = sorted(osp.basename(p) for p in glob.glob(osp.join(FOLDER, '*.py')))
#: engine token of a file name -> engine
ENGINES = {'fsdp': 'fsdp', 'ds-zero1': 'zero1', 'ds-zero2': 'zero2',
           'zero1-ddp': 'zero1_ddp'}
NAME = re.compile(r'_(?P<engine>fsdp|ds-zero[12]|zero1-ddp)-(?P<gpus>\d+)'
                  r'xb(?P<batch>\d+)-bf16-')
#: the paper's parameter counts (section 3.6, Table 2), classifier included
PAPER_PARAMS = {'large': 197e6, 'huge': 658e6, 'giant': 3.0e9}
PRETRAIN_IMG = 192


@functools.lru_cache(maxsize=None)
def load(name: str) -> Config:
    """A config of the folder (each file is read once per session)."""
    return Config.fromfile(osp.join(FOLDER, name))


def fresh(name: str) -> Config:
    """A copy of a config to edit."""
    return copy.deepcopy(load(name))


def engine_of(name: str) -> str:
    return ENGINES[NAME.search(name)['engine']]


def fsdp_sibling(name: str) -> str:
    """The FSDP config of the same experiment as a variant."""
    sibling = NAME.sub(lambda m: m[0].replace(m['engine'], 'fsdp'), name)
    assert sibling in CONFIGS, f'{name} has no FSDP sibling {sibling}'
    return sibling


def train_image_size(cfg: Config) -> int:
    """The training crop: mmseg's data preprocessor size, else the crop of
    the training pipeline."""
    size = cfg.model.get('data_preprocessor', {}).get('size')
    if size is not None:
        assert size[0] == size[1]
        return size[0]
    crop = [t for t in cfg.train_dataloader.dataset.pipeline
            if t['type'] == 'RandomResizedCrop']
    return crop[0]['scale']


def build_on_meta(name: str, part: str, scope=None) -> torch.nn.Module:
    """``model.<part>`` of a config built on the meta device (no memory, no
    initialisation), in the registry ``scope``."""
    cfg = load(name).to_dict()['model'][part]
    with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
        return MODELS.build(cfg)


@functools.lru_cache(maxsize=None)
def meta_backbone(name: str) -> torch.nn.Module:
    """The backbone (a ``visrep.*`` type: no toolkit scope needed)."""
    return build_on_meta(name, 'backbone')


def effective_windows(backbone, img: int) -> list:
    """Per stage, the window every block uses on a square ``img`` input;
    asserts that it tiles the stage's map (no padding)."""
    windows = []
    for i, stage in enumerate(backbone.layers):
        side = img // backbone.patch_embed.patch_size[0] // 2**i
        used = set()
        for block in stage.blocks:
            window, _ = fit_window((side, side), block.window_size,
                                   block.shift_size, block.window_clip)
            assert side % window[0] == 0 and window[0] == window[1], (
                f'stage {i}: window {window} does not tile {side}x{side}')
            used.add(window[0])
        assert len(used) == 1
        windows.append(used.pop())
    return windows


def test_the_folder_has_every_size_and_stage():
    fsdp = [n for n in CONFIGS if n.startswith(('simmim_', 'swinv2-'))
            and engine_of(n) == 'fsdp']
    for size in PAPER_PARAMS:
        assert any(n.startswith(f'simmim_swinv2-{size}-w12_') and
                   n.endswith('_in1k-192px.py') for n in fsdp)
        for px, window in ((256, 16), (384, 24), (640, 40)):
            assert any(n.startswith(f'swinv2-{size}-w{window}_') and
                       n.endswith(f'_in1k-{px}px.py') for n in fsdp)
    for engine in ('ds-zero1', 'ds-zero2', 'zero1-ddp'):
        assert sum(f'_{engine}-' in n for n in CONFIGS) >= 2
    assert any(n.startswith('upernet_swinv2-giant') for n in CONFIGS)


@pytest.mark.parametrize('name', CONFIGS)
def test_config_passes_the_train_checks(name):
    cfg = fresh(name)
    cfg.launcher = 'pytorch'  # as tools/dist_train.sh and slurm_train.sh
    assert toolkit_of(cfg) in ('mmpretrain', 'mmseg')
    try:
        check_config(cfg, 'train')
    except ConfigError as err:  # the checks run in order; data comes last
        message = str(err)
        if engine_of(name) in ('zero1', 'zero2'):
            if 'needs the deepspeed package' in message:
                return
        if 'It is written by training configs/swin_v2/scale/' in message:
            return  # fine-tuning: the pre-training run's checkpoint comes first
        assert message.startswith('dataset paths are missing'), message


@pytest.mark.parametrize('name', [n for n in CONFIGS
                                  if engine_of(n) == 'fsdp'])
def test_fsdp_wraps_each_block_in_bf16_with_checkpointing(name):
    cfg = load(name)
    strategy = cfg.strategy
    assert strategy.type == 'FSDPStrategy'
    wrapper = strategy.model_wrapper
    policy = wrapper.auto_wrap_policy
    policy = FUNCTIONS.get(policy['type'] if isinstance(policy, dict)
                           else policy)
    backbone = meta_backbone(name)
    block = backbone.layers[0].blocks[0]
    assert isinstance(block, SwinV2Block)
    assert policy(block, recurse=False, nonwrapped_numel=0)
    assert not policy(backbone.patch_embed, recurse=False,
                      nonwrapped_numel=0)
    precision = wrapper.mixed_precision
    assert getattr(torch, precision.param_dtype) is torch.bfloat16
    assert getattr(torch, precision.reduce_dtype) is torch.float32
    assert backbone.layers[0].with_cp and cfg.model.backbone.with_cp
    # FSDP does the mixed precision: no AMP wrapper (and its fp16 scaler)
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'


VARIANTS = [n for n in CONFIGS if engine_of(n) != 'fsdp']


def _deepspeed_config(strategy: dict, micro_batch: int,
                      monkeypatch) -> dict:
    """The dict mmengine's DeepSpeedStrategy passes to
    ``deepspeed.initialize``, built without deepspeed (a stand-in module;
    the base strategy's environment setup skipped)."""
    from mmengine._strategy import deepspeed as ds_module
    from mmengine._strategy.base import BaseStrategy
    monkeypatch.setattr(ds_module, 'deepspeed',
                        types.SimpleNamespace(__version__='0.16.9'))
    monkeypatch.setattr(BaseStrategy, '__init__', lambda self, **kw: None)
    kwargs = {k: v for k, v in strategy.items() if k != 'type'}
    # FlexibleRunner.build_strategy adds the per-GPU batch
    built = ds_module.DeepSpeedStrategy(
        train_micro_batch_size_per_gpu=micro_batch, **kwargs)
    return built.config


@pytest.mark.parametrize('name', VARIANTS)
def test_variant_keeps_the_recipe_and_switches_the_engine(name, monkeypatch):
    cfg, fsdp = load(name), load(fsdp_sibling(name))
    engine = engine_of(name)
    optimizer = dict(cfg.optim_wrapper.optimizer)
    if engine == 'zero1_ddp':
        assert cfg.get('strategy') is None  # mmengine's Runner with DDP
        assert optimizer.pop('type') == 'ZeroRedundancyOptimizer'
        optimizer['type'] = optimizer.pop('optimizer_type')
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.dtype == 'bfloat16'
        assert cfg.optim_wrapper.clip_grad == fsdp.optim_wrapper.clip_grad
    else:
        from mmengine._strategy.deepspeed import DeepSpeedStrategy
        strategy = dict(cfg.strategy)
        assert strategy['type'] == 'DeepSpeedStrategy'
        own = inspect.signature(DeepSpeedStrategy.__init__).parameters
        unknown = set(strategy) - {'type'} - {
            k for k, p in own.items() if p.kind == p.KEYWORD_ONLY}
        assert not unknown, f'not DeepSpeedStrategy arguments: {unknown}'
        assert strategy['inputs_to_half'] == ['inputs']
        assert cfg.optim_wrapper.type == 'DeepSpeedOptimWrapper'
        assert 'clip_grad' not in cfg.optim_wrapper  # DeepSpeed clips
        micro_batch = cfg.train_dataloader.batch_size
        assert _deepspeed_config(strategy, micro_batch, monkeypatch) == dict(
            zero_optimization=dict(stage=int(engine[-1])),
            bf16=dict(enabled=True),
            gradient_clipping=fsdp.optim_wrapper.clip_grad.max_norm,
            train_micro_batch_size_per_gpu=micro_batch,
            gradient_accumulation_steps=1,
            steps_per_print=strategy.get('steps_per_print', 10000000000000))
    assert optimizer == dict(fsdp.optim_wrapper.optimizer)
    assert cfg.optim_wrapper.get('paramwise_cfg') == \
        fsdp.optim_wrapper.get('paramwise_cfg')
    for field in ('model', 'param_scheduler', 'train_cfg', 'auto_scale_lr',
                  'train_dataloader', 'load_from'):
        assert cfg.get(field) == fsdp.get(field), field


@pytest.mark.parametrize('name', CONFIGS)
def test_global_batch_is_the_file_name_and_the_recipe(name):
    cfg = load(name)
    match = NAME.search(name)
    assert cfg.train_dataloader.batch_size == int(match['batch'])
    scale_lr = cfg.get('auto_scale_lr')
    if scale_lr is not None:  # the lr is tuned for the named batch
        assert scale_lr.base_batch_size == \
            int(match['gpus']) * int(match['batch'])


@pytest.mark.parametrize('size', sorted(PAPER_PARAMS))
def test_parameter_count_is_the_papers(size):
    # The paper's counts include the classifier (its SwinV2-T/S/B 28M/50M/
    # 88M do): every parameter of the ImageClassifier of the 256 px
    # fine-tuning config -- the backbone (with H/G's extra norms, the
    # position-bias MLPs and logit scales) and the 1000-way linear head;
    # buffers (coordinate tables, indices) are not parameters.
    name = next(n for n in CONFIGS if n.startswith(f'swinv2-{size}-w16_'))
    cfg = load(name)
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.model.neck.type == 'GlobalAveragePooling'  # no parameters
    head = build_on_meta(name, 'head', cfg.default_scope)
    assert head.num_classes == 1000
    count = sum(p.numel() for module in (meta_backbone(name), head)
                for p in module.parameters())
    assert count == pytest.approx(PAPER_PARAMS[size], rel=0.01)


@pytest.mark.parametrize('name', [n for n in CONFIGS
                                  if engine_of(n) == 'fsdp'])
def test_windows_tile_every_stage_and_match_the_pretraining(name):
    cfg = load(name)
    backbone = meta_backbone(name)
    img = train_image_size(cfg)
    assert cfg.model.backbone.img_size == img
    windows = effective_windows(backbone, img)
    if name.startswith('simmim_'):
        assert img == PRETRAIN_IMG and windows == [12, 12, 12, 6]
        return
    window = int(re.search(r'-w(\d+)_', name)[1])
    assert windows[0] == window
    # the pretrained windows are those the pre-training config trained with
    checkpoint = cfg.get('load_from') or \
        cfg.model.backbone.init_cfg.checkpoint
    work_dir, file = checkpoint.split('/')[-2:]
    pretrain = load(work_dir + '.py')
    assert work_dir.startswith(f'simmim_swinv2-{cfg.model.backbone.arch}-')
    loop = pretrain.train_cfg
    assert file == (f'iter_{loop.max_iters}.pth' if 'max_iters' in loop
                    else f'epoch_{loop.max_epochs}.pth')
    trained = effective_windows(meta_backbone(work_dir + '.py'),
                                PRETRAIN_IMG)
    assert list(backbone.pretrained_window_sizes) == trained


# ------------------------------------------------ one FSDP iteration
G_640 = 'swinv2-giant-w40_simmim-pre_fsdp-64xb9-bf16-10e_in1k-640px.py'


def _tiny_run_config(data_root: str, work_dir: str) -> Config:
    """The G fine-tune at 640 px with a tiny arch, two 32 px images (one per
    class folder under ``data_root``) and one iteration; its strategy,
    optimizer, constructor, clipping and schedulers are the config's."""
    import mmcv
    cfg = fresh(G_640)
    load_plugin_shrinkers()
    backbone = cfg.model.backbone
    cfg.model.head.in_channels = BACKBONE_SHRINKERS[backbone.type](
        backbone)[-1]
    rng = torch.Generator().manual_seed(0)
    for label in range(2):
        image = torch.randint(0, 256, (32, 32, 3), generator=rng)
        mmcv.imwrite(image.to(torch.uint8).numpy(),
                     osp.join(data_root, f'class{label}', 'image.png'))
    cfg.train_dataloader = dict(
        dataset=dict(type='CustomDataset', data_root=data_root,
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='PackInputs')]),
        batch_size=2, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False))
    for field in ('val_dataloader', 'val_cfg', 'val_evaluator',
                  'test_dataloader', 'test_cfg', 'test_evaluator',
                  'load_from'):
        cfg[field] = None
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1)
    cfg.default_hooks.checkpoint = None
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.launcher = 'pytorch'
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


class _Losses(Hook):
    """The loss of every training iteration."""

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(float(outputs['loss']))


def _train_once(rank: int, port: int, tmp: str, out: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK='0', LOCAL_RANK='0', WORLD_SIZE='1')
    torch.set_num_threads(1)
    import torch.distributed as dist
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
    try:
        cfg = _tiny_run_config(osp.join(tmp, 'data'), osp.join(tmp, 'run'))
        check_config(cfg, 'train')  # what tools/train.py does, in order
        adapt_to_cpu_distributed(cfg)
        runner = build_runner(cfg)
        record = _Losses()
        runner.register_hook(record)
        runner.train()
        units = [m for m in runner.model.modules() if isinstance(m, FSDP)]
        torch.save(dict(
            losses=record.losses,
            block_units=sum(isinstance(m.module, SwinV2Block) for m in units),
            blocks=len(runner.model.module.backbone.all_blocks()),
            param_dtype=runner.model.mixed_precision.param_dtype), out)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_g_finetune_trains_an_iteration_under_its_fsdp_strategy(tmp_path):
    out = str(tmp_path / 'result.pth')
    mp.start_processes(_train_once, nprocs=1, start_method='fork',
                       args=(free_port(), str(tmp_path), out))
    result = torch.load(out, weights_only=False)
    assert len(result['losses']) == 1 and all(
        torch.isfinite(torch.tensor(result['losses'])))
    assert result['block_units'] == result['blocks'] > 0
    assert result['param_dtype'] is torch.bfloat16
