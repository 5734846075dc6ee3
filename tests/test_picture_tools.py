"""The picture tools of tools/analysis_tools/: DNL attention maps, SimMIM
reconstructions and training curves.

Each tool runs in this process on a tiny model (random weights, saved as a
checkpoint) or a short training, and its PNG is checked to decode and to
hold a picture rather than a blank; the numbers behind the pictures are
checked against formulas written here from the papers' definitions.
"""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib import image as mpimg
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

from visrep.projects.dnl import DNLBlock
from visrep.projects.simmim.head import normalize_targets
from _helpers import REPO_ROOT, train_in_process
from _helpers.runs import load_script

DNL_TOOL = load_script('tools/analysis_tools/dnl_attention_maps.py')
SIMMIM_TOOL = load_script('tools/analysis_tools/simmim_reconstruction.py')
CURVES_TOOL = load_script('tools/analysis_tools/plot_training_curves.py')

SIMMIM_MICRO = osp.join(REPO_ROOT, 'configs', 'simmim', 'small',
                        'simmim_swin-micro_small-imagenet.py')
#: the official DNL head on the smoke FCN's dilated ResNet-18 (512x256 input,
#: stride 8: a 32x64 grid for the block)
DNL_SMALL = f"""
_base_ = '{REPO_ROOT}/configs/smoke/fcn_r18-d8_small-cityscapes.py'
model = dict(decode_head=dict(
    _delete_=True, type='visrep.DNLOfficialHead', in_channels=512,
    in_index=3, channels=64, num_classes=19,
    norm_cfg=dict(type='BN', requires_grad=True)))
"""


def check_png(path: str, min_size=(200, 300),
              max_size=(1500, 2000)) -> np.ndarray:
    """The PNG decodes, has a plausible size and is no blank picture."""
    assert osp.isfile(path), f'{path} was not written'
    img = mpimg.imread(path)[..., :3]
    h, w = img.shape[:2]
    assert min_size[0] <= h <= max_size[0] and min_size[1] <= w <= max_size[1]
    assert img.std() > 0.1, 'the picture is (nearly) one colour'
    colours = np.unique((img * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 100, f'only {len(colours)} colours'
    return img


def save_random_checkpoint(cfg: Config, path: str, scale_dnl: float = 0.0):
    """The config's model with its own init (DNL convs redrawn with std
    ``scale_dnl`` so that the maps are not flat), saved as a checkpoint."""
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if scale_dnl:
        for block in model.modules():
            if isinstance(block, DNLBlock):
                reinit_block(block, scale_dnl)
    torch.save({'state_dict': model.state_dict()}, path)
    return model


def reinit_block(block: DNLBlock, std: float) -> None:
    for conv in (block.conv_query, block.conv_key, block.conv_value,
                 block.conv_mask):
        torch.nn.init.normal_(conv.weight, 0.0, std)
        if conv.bias is not None:
            torch.nn.init.normal_(conv.bias, 0.0, std)


# ------------------------------------------------------------------ DNL
def dnl_formula(block: DNLBlock, x: torch.Tensor, whiten_query=True):
    """Paper eq. 6 on the block's weights: pairwise ``(N, L, L')`` and unary
    ``(N, L')``, every 1x1 conv written as an einsum."""

    def conv(layer, inp):
        out = torch.einsum('oc,nchw->nohw', layer.weight[:, :, 0, 0], inp)
        return (out + layer.bias[None, :, None, None]).flatten(2)

    source = F.max_pool2d(x, 2) if block.downsample is not None else x
    q, k = conv(block.conv_query, x), conv(block.conv_key, source)
    dims = (1, 2) if block.whiten == 'scalar' else (2, )
    if whiten_query:
        q = q - q.mean(dims, keepdim=True)
    k = k - k.mean(dims, keepdim=True)
    scale = (q.shape[1]**-0.5 if block.use_scale else 1.0) / block.temperature
    pairwise = (torch.einsum('ncl,ncm->nlm', q, k) * scale).softmax(-1)
    unary = conv(block.conv_mask, source)[:, 0].softmax(-1)
    return pairwise, unary


@pytest.mark.parametrize('whiten,downsample', [('scalar', False),
                                               ('channel', False),
                                               ('scalar', True)])
def test_dnl_maps_are_the_whitened_softmaxes(whiten, downsample):
    torch.manual_seed(0)
    block = DNLBlock(16, whiten=whiten, use_scale=True, temperature=0.5,
                     downsample=downsample)
    reinit_block(block, 0.4)
    x = torch.randn(2, 16, 6, 8) + 0.5
    rows = [0, 13, 47]
    maps = DNL_TOOL.query_attention(block, x, rows)
    pairwise, unary = dnl_formula(block, x)
    grid = (3, 4) if downsample else (6, 8)
    assert maps['pairwise'].shape == (2, 3) + grid
    torch.testing.assert_close(maps['pairwise'].flatten(2), pairwise[:, rows])
    torch.testing.assert_close(maps['unary'].flatten(1), unary)
    # the block's own (full) maps agree
    full = block.attention_maps(x)
    torch.testing.assert_close(maps['pairwise'].flatten(2),
                               full['pairwise'][:, rows])
    # the check has teeth: peaked maps, and whitening the queries matters
    assert (pairwise.amax(-1) * pairwise.shape[-1]).min() > 2
    unwhitened, _ = dnl_formula(block, x, whiten_query=False)
    assert (unwhitened - pairwise).abs().max() > 0.05


def test_dnl_points_map_to_feature_positions():
    assert DNL_TOOL.parse_points(['3,4', '0.5,7']) == [(3, 4), (0.5, 7)]
    with pytest.raises(SystemExit, match='x,y'):
        DNL_TOOL.parse_points(['3'])
    meta = dict(scale_factor=(0.5, 0.25))
    assert DNL_TOOL.to_input_pixels([(100, 40)], meta) == [(50, 10)]
    # a 64x128 input over a 8x16 grid: stride 8 along both axes
    assert DNL_TOOL.query_positions([(0, 0), (127, 63), (20, 9)], (64, 128),
                                    (8, 16)) == [0, 127, 1 * 16 + 2]
    with pytest.raises(SystemExit, match='outside'):
        DNL_TOOL.query_positions([(128, 0)], (64, 128), (8, 16))


def test_dnl_tool_draws_a_segmentor(small_data_cwd, tmp_path):
    config = tmp_path / 'dnl_small.py'
    config.write_text(DNL_SMALL)
    checkpoint = str(tmp_path / 'dnl.pth')
    model = save_random_checkpoint(Config.fromfile(str(config)), checkpoint,
                                   scale_dnl=0.2)
    image = osp.join(small_data_cwd, 'data', 'small', 'cityscapes', 'leftImg8bit',
                     'val', 'frankfurt',
                     'frankfurt_000000_000019_leftImg8bit.png')
    out = str(tmp_path / 'dnl.png')
    # the test pipeline halves the 512x256 image (and the query points)
    half = ['--cfg-options', 'test_dataloader.dataset.pipeline.1.scale='
            '(256,128)']
    drawn = DNL_TOOL.main([str(config), checkpoint, image, '--points',
                           '100,60', '300,200', '--out', out, *half])
    img = check_png(out)
    assert img.shape[1] > img.shape[0]  # 3 panels of a 2:1 image per row
    assert osp.getsize(out) < 300_000
    # the maps are the block's on this image, at the points' positions
    # (256x128 input, stride 8: a 16x32 grid; (50, 30) and (150, 100))
    assert drawn['queries'] == [3 * 32 + 6, 12 * 32 + 18]
    block = model.decode_head.dnl_block
    full = block.attention_maps(drawn['block_input'])
    torch.testing.assert_close(drawn['maps']['pairwise'][0].flatten(1),
                               full['pairwise'][0, drawn['queries']])
    pair = drawn['pairwise']
    assert pair.shape == (2, 128, 256)
    assert DNL_TOOL.peak(drawn['maps']['pairwise'][0, 0]) > 3  # not flat
    assert np.abs(pair[0] - pair[1]).max() > 0.1 * pair.max()
    assert np.abs(pair[0] - drawn['unary']).max() > 0.1 * pair.max()
    with pytest.raises(SystemExit, match='no such DNL block'):
        DNL_TOOL.main([str(config), checkpoint, image, '--points', '1,1',
                       '--out', out, '--block', 'backbone.layer4', *half])


# --------------------------------------------------------------- SimMIM
def test_simmim_local_statistics_invert_the_target_normalisation():
    images = torch.randn(2, 3, 20, 24) * 3 + 1
    mean, std = SIMMIM_TOOL.local_stats(images, kernel=7)
    torch.testing.assert_close(normalize_targets(images, 7) * std + mean,
                               images, rtol=1e-4, atol=1e-4)


def test_simmim_tool_reconstructs_masked_patches(tmp_path):
    import mmcv
    rows, cols = np.mgrid[0:64, 0:64]
    # RGB: red grows to the right, blue downwards (a channel swap shows)
    rgb = np.stack([cols * 4, np.full_like(cols, 60), rows * 4], -1)
    square = str(tmp_path / 'square.png')
    mmcv.imwrite(rgb[..., ::-1].astype(np.uint8), square)  # cv2 writes BGR
    wide = str(tmp_path / 'wide.png')
    mmcv.imwrite(np.random.default_rng(0).integers(
        0, 255, (80, 120, 3)).astype(np.uint8), wide)
    checkpoint = str(tmp_path / 'simmim.pth')
    save_random_checkpoint(Config.fromfile(SIMMIM_MICRO), checkpoint)
    out = str(tmp_path / 'simmim.png')
    images = SIMMIM_TOOL.main([SIMMIM_MICRO, checkpoint, square, wide,
                               '--out', out, '--seed', '1'])
    check_png(out)
    assert images['input'].shape == (2, 64, 64, 3)
    # the normalisation undone: the first input is the file's pixels
    np.testing.assert_allclose(images['input'][0], rgb / 255, atol=1e-4)
    mask = images['mask'] > 0
    # 64 px in cells of 16: ceil(0.6 * 16) = 10 of 16 cells masked
    assert mask.mean(axis=(1, 2)).tolist() == [10 / 16, 10 / 16]
    rec, inp = images['reconstruction'], images['input']
    np.testing.assert_allclose(rec[~mask], inp[~mask], atol=1e-6)
    assert np.abs(rec[mask] - inp[mask]).mean() > 0.05
    assert (images['masked'][mask] == SIMMIM_TOOL.MASK_GREY).all()
    # another seed, other masks
    again = SIMMIM_TOOL.main([SIMMIM_MICRO, checkpoint, square, '--out',
                              str(tmp_path / 'b.png'), '--seed', '2'])
    assert (again['mask'][0] != images['mask'][0]).any()


# ------------------------------------------------------ training curves
def iter_based_log(path: str) -> None:
    """mmengine's json lines for an iteration-based run (20 iterations,
    evaluated at 10 and 20), as LoggerHook writes them."""
    lines = [dict(lr=0.01 / i, loss=2.0 / i, iter=i, step=i)
             for i in (5, 10, 15, 20)]
    lines.insert(2, dict(mIoU=20.0, step=10))
    lines.append(dict(mIoU=30.0, step=20))
    with open(path, 'w') as f:
        f.write('\n'.join(json.dumps(line) for line in lines) + '\n')


@pytest.mark.e2e
def test_training_curves_of_real_and_written_logs(small_data_cwd, tmp_path,
                                                  monkeypatch):
    monkeypatch.chdir(small_data_cwd)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'smoke',
                                   'resnet18_small-imagenet.py'))
    work_dir = str(tmp_path / 'resnet')
    for name, count in (('train_dataloader', 8), ('val_dataloader', 4)):
        loader = cfg[name]
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
        loader.dataset.indices = count
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=2, val_interval=1)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 100
    cfg.work_dir = work_dir
    train_in_process(cfg)
    records = CURVES_TOOL.read_records(CURVES_TOOL.scalars_file(work_dir))
    # the real log: 2 iterations per epoch; the evaluations' steps are
    # epochs, drawn at the iteration that ends them
    top1 = CURVES_TOOL.series(records, 'accuracy/top1')
    assert list(top1) == ['val'] and top1['val'][0] == [2, 4]
    assert CURVES_TOOL.series(records, 'loss')['train'][0] == [1, 2, 3, 4]
    assert CURVES_TOOL.series(records, 'accuracy/top1', 'epoch')['val'][0] \
        == [1, 2]

    written = str(tmp_path / 'scalars.json')
    iter_based_log(written)
    assert CURVES_TOOL.series(CURVES_TOOL.read_records(written),
                              'mIoU')['val'] == ([10, 20], [20.0, 30.0])
    out = str(tmp_path / 'curves.png')
    drawn = CURVES_TOOL.main([work_dir, written, '--keys', 'loss', 'lr',
                              'accuracy/top1', '--labels', 'resnet', 'fcn',
                              '--out', out])
    assert drawn == {'loss': 2, 'lr': 2, 'accuracy/top1': 1}
    check_png(out, min_size=(200, 600))
    with pytest.raises(SystemExit, match='no run logged it'):
        CURVES_TOOL.main([written, '--keys', 'accuracy', '--out', out])
    with pytest.raises(SystemExit, match='does not exist'):
        CURVES_TOOL.main([str(tmp_path / 'nowhere'), '--out', out])
