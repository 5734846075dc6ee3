"""tools/model_converters: the sparse export and the 2:4 -> semi-structured
check, on a toy run pruned to 2:4."""
import json

import pytest
import torch

from visrep.projects.balanced_sparsity import as_rows


def test_export_writes_pruned_weights_masks_and_report(
        pruned_checkpoint, tmp_path, capsys, converter):
    out, report = str(tmp_path / 'sparse.pth'), str(tmp_path / 'r.json')
    code = converter('export_balanced_sparse')(
        [pruned_checkpoint, out, '--report', report])
    assert code == 0
    printed = capsys.readouterr().out
    assert '| fc1 | 64x512 | 4 | 128 | 2 | 0.5000 | yes |' in printed
    assert '| conv | 32x144 | 4 | 36 | 2 | 0.5000 | yes |' in printed
    assert '3 pruned layers, total sparsity 0.5000' in printed
    exported = torch.load(out, weights_only=False)
    assert 'optimizer' not in exported and 'message_hub' not in exported
    masks = exported['balanced_sparsity']['masks']
    for name, keep in masks.items():
        weight = exported['state_dict'][name]
        assert weight[~keep].abs().sum() == 0
        groups = as_rows(keep).reshape(keep.shape[0], -1, 4).sum(-1)
        assert (groups == 2).all()
    with open(report) as f:
        rows = json.load(f)
    assert {r['layer'] for r in rows} == {'conv', 'fc1', 'fc2'}
    assert all(r['nnz_per_bank'] == [2] and r['balanced']
               and r['nonzero_in_pruned'] == 0 for r in rows)


def test_export_flags_an_unbalanced_layer(pruned_checkpoint, tmp_path,
                                          capsys, converter):
    checkpoint = torch.load(pruned_checkpoint, weights_only=False)
    checkpoint['balanced_sparsity']['masks']['fc2.weight'][0, :4] = True
    bad = str(tmp_path / 'bad.pth')
    torch.save(checkpoint, bad)
    code = converter('export_balanced_sparse')(
        [bad, str(tmp_path / 'o.pth')])
    captured = capsys.readouterr()
    assert code == 1
    assert '| fc2 | 64x64 | 4 | 16 | 2/4 | ' in captured.out
    assert "NOT balanced (banks hold different numbers of non-zeros): " \
        "['fc2']" in captured.err


def test_export_from_zeros_needs_a_bank_size(pruned_checkpoint, tmp_path,
                                             capsys, converter):
    checkpoint = torch.load(pruned_checkpoint, weights_only=False)
    del checkpoint['balanced_sparsity']
    plain = str(tmp_path / 'plain.pth')
    torch.save(checkpoint, plain)
    with pytest.raises(SystemExit, match='give --bank-size'):
        converter('export_balanced_sparse')([plain, str(tmp_path / 'o.pth')])
    code = converter('export_balanced_sparse')(
        [plain, str(tmp_path / 'o.pth'), '--bank-size', '4', '--layers',
         r'^fc\d\.weight$'])
    assert code == 0
    assert '| fc1 | 64x512 | 4 | 128 | 2 | 0.5000 | yes |' in \
        capsys.readouterr().out


def test_load_from_an_export_keeps_its_masks(pruned_checkpoint, tmp_path,
                                             make_runner, converter):
    out = str(tmp_path / 'sparse.pth')
    converter('export_balanced_sparse')([pruned_checkpoint, out])
    masks = torch.load(out, weights_only=False)['balanced_sparsity']['masks']
    # fine-tune at the same 2:4 target; iterations 0-4 train with the
    # exported masks (without them, the weights would move off zero and the
    # update at 5 would rank them anew)
    recorder = make_runner.Recorder()
    runner = make_runner(dict(n_m=(2, 4), begin=5), max_epochs=1,
                         load_from=out, extra_hooks=[recorder])
    runner.train()
    assert recorder.violations == []
    for t in range(5):
        assert recorder.masks[t].keys() == masks.keys()
        assert all(torch.equal(recorder.masks[t][n], masks[n]) for n in masks)
    hook = next(h for h in runner.hooks
                if type(h).__name__ == 'BalancedSparsityHook')
    params = dict(runner.model.named_parameters())
    for name, keep in masks.items():
        assert torch.equal(hook.keeper.keep_mask(name), keep), name
        assert params[name][~keep].abs().sum() == 0


def test_semi_structured_check_on_this_machine(pruned_checkpoint, tmp_path,
                                               capsys, converter):
    convert = converter('balanced_to_semi_structured')
    code = convert([pruned_checkpoint])
    out = capsys.readouterr().out
    assert 'fc1.weight [64x512]: 2:4, convertible' in out
    assert 'fc2.weight [64x64]: 2:4, convertible' in out
    assert 'conv.weight' not in out  # 4-D: not a Linear weight
    if not torch.cuda.is_available():
        assert code == 3
        assert ('this machine has no CUDA device: 2 layers passed the 2:4 '
                'check, but none was converted') in out
    # a dense checkpoint: nothing to convert, each layer says why
    checkpoint = torch.load(pruned_checkpoint, weights_only=False)
    del checkpoint['balanced_sparsity']
    checkpoint['state_dict']['fc1.weight'].normal_()
    dense = str(tmp_path / 'dense.pth')
    torch.save(checkpoint, dense)
    assert convert([dense, '--layers', 'fc1']) == 2
    assert ('fc1.weight [64x512]: not convertible: not 2:4 sparse (a group '
            'of 4 consecutive inputs holds 4 non-zeros)') in \
        capsys.readouterr().out


def test_semi_structured_shape_and_dtype_limits():
    from visrep.projects.balanced_sparsity.semi_structured import weight_problems
    weight = torch.zeros(10, 6)
    problems = weight_problems(weight, torch.float64)
    assert problems[0] == '6 input features are not a multiple of 4'
    assert 'does not support torch.float64' in problems[1]
    weight = torch.zeros(8, 32)
    assert weight_problems(weight, torch.float16) and 'minimum' in \
        weight_problems(weight, torch.float16)[0]
