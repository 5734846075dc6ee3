#!/usr/bin/env python
"""The summary table of ``benchmarks/gpu_check.sh``: one row per part with
its status, time and figures, printed and written as ``summary.md`` and
``summary.json``.

    python benchmarks/gpu/summary.py --work WORK_DIR --out OUT_DIR

``WORK_DIR`` holds what the parts left: ``parts.tsv`` (one line per part:
name, status, seconds, note; tab-separated, in running order), each part's
``<name>.log`` and, where the part writes one, ``<name>.json``, and the
machine's ``env.json``.  Figures come from the JSON where a part writes it,
else from its log.  Standard library only: it runs before and without torch.
"""
import argparse
import json
import os.path as osp
import re
from typing import Callable, Dict, List, Optional

PART_TITLES = {
    'env': 'machine and packages',
    'setup': 'missing packages from .whl/',
    'tests': 'CUDA-only tests',
    'swin': 'SwinV2-T AMP speed and memory vs timm, mmpretrain',
    'b384': 'SwinV2-B 384 px fp16-AMP training steps',
    'cbn': 'CBN GPU speed (cbn_speed_standalone.py)',
    'semi': '2:4 semi-structured fp16 linear',
    'ddp': 'DDP/NCCL two steps',
}


def read_parts(work: str) -> List[Dict[str, str]]:
    """The rows of ``parts.tsv``: name, status, seconds, note."""
    rows = []
    path = osp.join(work, 'parts.tsv')
    if not osp.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            fields = line.rstrip('\n').split('\t')
            if len(fields) < 3:
                continue
            name, status, seconds = fields[:3]
            note = fields[3] if len(fields) > 3 else ''
            rows.append(dict(name=name, status=status, seconds=seconds,
                             note=note))
    return rows


def _read(path: str) -> str:
    if not osp.exists(path):
        return ''
    with open(path, errors='replace') as f:
        return f.read()


def _load(path: str) -> Optional[dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------ figures
def env_figures(info: Optional[dict]) -> str:
    """GPU, torch/CUDA and the toolkit versions (or 'missing')."""
    if not info:
        return ''
    gpus = info.get('gpus') or []
    gpu = f'{len(gpus)}x {gpus[0]}' if gpus else 'no GPU'
    text = (f'{gpu}, torch {info.get("torch")}, CUDA {info.get("cuda")}, '
            f'Python {info.get("python")}')
    packages = info.get('packages', {})
    have = [f'{k} {v}' for k, v in packages.items()
            if not v.startswith('missing')]
    missing = [k for k, v in packages.items() if v.startswith('missing')]
    text += '; ' + ', '.join(have)
    if missing:
        text += '; missing: ' + ', '.join(missing)
    return text


def pytest_figures(log: str) -> str:
    """pytest's closing counts, e.g. ``4 passed, 1 skipped in 12.3s``."""
    found = re.findall(
        r'^[= ]*((?:\d+ (?:passed|failed|skipped|errors?|deselected|'
        r'xfailed|xpassed|warnings?)(?:, )?)+) in ([\d.]+)s', log, re.M)
    if not found:
        return ''
    counts, seconds = found[-1]
    return f'{counts.rstrip(", ")} in {seconds} s'


def swin_figures(result: Optional[dict]) -> str:
    """Per precision: ours' img/s and fraction of the bound, ours / peer."""
    if not result:
        return ''
    parts = []
    for precision, data in result.get('precisions', {}).items():
        peers = data['peers']
        ours = peers['ours']
        text = (f'{precision}: ours train {ours["train_img_s"]:.0f} img/s '
                f'({ours["train_of_bound"]:.0%} of bound), infer '
                f'{ours["infer_img_s"]:.0f} ({ours["infer_of_bound"]:.0%})')
        for name, peer in peers.items():
            if name == 'ours':
                continue
            ratio = {key: ours[key] / peer[key] for key in
                     ('train_img_s', 'infer_img_s', 'peak_train_mib')}
            text += (f'; vs {name} train {ratio["train_img_s"]:.2f}x, infer '
                     f'{ratio["infer_img_s"]:.2f}x, mem '
                     f'{ratio["peak_train_mib"]:.2f}x')
        parts.append(text)
    for name, why in result.get('skipped', {}).items():
        parts.append(f'{name} left out ({why.splitlines()[0][:80]})')
    return ' -- '.join(parts)


def swin_details(result: Optional[dict]) -> List[str]:
    """A markdown table per precision: every peer's figures."""
    if not result:
        return []
    lines = []
    for precision, data in result.get('precisions', {}).items():
        lines += ['', f'SwinV2-T 256 px w8, {precision} autocast, batch '
                  f'{result["batch"]}, GEMM {data["gemm_tflops"]:.0f} '
                  'TFLOP/s', '',
                  '| model | train img/s | of bound | infer img/s | of bound '
                  '| peak MiB | GFLOP/img |', '|---|---|---|---|---|---|---|']
        for name, p in data['peers'].items():
            lines.append(
                f'| {name} | {p["train_img_s"]:.0f} | '
                f'{p["train_of_bound"]:.1%} | {p["infer_img_s"]:.0f} | '
                f'{p["infer_of_bound"]:.1%} | {p["peak_train_mib"]:.0f} | '
                f'{p["forward_gflop"]:.2f} |')
    return lines


def b384_figures(result: Optional[dict]) -> str:
    """Speed, memory, skipped steps, fp16-vs-fp32 difference, checks."""
    if not result:
        return ''
    failed = [name for name, ok in result['checks'].items() if not ok]
    text = (f'{result["img_s"]:.1f} img/s, peak '
            f'{result.get("peak_mib", float("nan")) / 1024:.1f} GiB, '
            f'{result["skipped"]} of {len(result["losses"])} steps skipped '
            f'by the scaler, last loss {result["losses"][-1]:.3f}, fp16 vs '
            f'fp32 logits {result["rel_diff"]:.1e}')
    return text + ('; failed: ' + ', '.join(failed) if failed
                   else '; all checks ok')


CBN_HEADER = re.compile(r'^ResNet-50 \(torchvision\), batch \d+, (\d+x\d+), '
                        r'(\w+), ')
CBN_ROW = re.compile(r'^(BN|CBN|GN)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x')


def cbn_figures(log: str) -> str:
    """Per input size and precision: CBN's and GN's step vs BN's."""
    parts, current = [], None
    for line in log.splitlines():
        header = CBN_HEADER.match(line)
        if header:
            current = f'{header.group(1)} {header.group(2)}:'
            parts.append(current)
            continue
        row = CBN_ROW.match(line)
        if row and current and row.group(1) != 'BN':
            parts[-1] += (f'{"," if parts[-1][-1] == ")" else ""} '
                          f'{row.group(1)} {row.group(3)}x BN '
                          f'({row.group(2)} ms)')
    if 'bit for bit equal: False' in log:
        parts.append('CUDA graphs NOT bit-equal to eager')
    elif 'bit for bit equal: True' in log:
        parts.append('CUDA graphs bit-equal to eager')
    return '; '.join(parts)


SEMI_ROW = re.compile(r'^(\d+x\d+), (\d+) tokens: dense ([\d.]+) ms, 2:4 '
                      r'([\d.]+) ms, ([\d.]+)x')


def semi_figures(log: str) -> str:
    """Per weight shape: the 2:4 speedup over dense, or why not run."""
    rows = [f'{m.group(1)}: {m.group(5)}x ({m.group(3)} -> {m.group(4)} ms)'
            for m in map(SEMI_ROW.match, log.splitlines()) if m]
    if rows:
        return '; '.join(rows)
    found = re.search(r'^semi-structured 2:4: (not run here: .*)$', log, re.M)
    return found.group(1) if found else ''


def ddp_figures(result: Optional[dict]) -> str:
    """Backend, ranks and the checks."""
    if not result:
        return ''
    failed = [name for name, ok in result['checks'].items() if not ok]
    return (f'{result["backend"]}, {result["world_size"]} ranks, '
            f'{result["seconds"]:.1f} s; ' +
            ('failed: ' + ', '.join(failed) if failed else 'all checks ok'))


FROM_LOG: Dict[str, Callable[[str], str]] = {
    'tests': pytest_figures, 'cbn': cbn_figures, 'semi': semi_figures}
FROM_JSON: Dict[str, Callable[[Optional[dict]], str]] = {
    'swin': swin_figures, 'b384': b384_figures, 'ddp': ddp_figures}


def figures(name: str, work: str) -> str:
    """The figures of one part, from its JSON or its log."""
    if name == 'env':
        return env_figures(_load(osp.join(work, 'env.json')))
    if name in FROM_JSON:
        return FROM_JSON[name](_load(osp.join(work, f'{name}.json')))
    if name in FROM_LOG:
        return FROM_LOG[name](_read(osp.join(work, f'{name}.log')))
    return ''


# ------------------------------------------------------------ the table
def _cell(text: str) -> str:
    return text.replace('|', '/').replace('\n', ' ')


def summarize(work: str) -> dict:
    """Every part's row with its figures, and the parts' own JSON."""
    rows = read_parts(work)
    for row in rows:
        row['title'] = PART_TITLES.get(row['name'], row['name'])
        try:
            row['figures'] = figures(row['name'], work)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            row['figures'] = f'(figures unreadable: {error!r})'
    return {
        'parts': rows,
        'env': _load(osp.join(work, 'env.json')),
        'results': {name: _load(osp.join(work, f'{name}.json'))
                    for name in FROM_JSON},
    }


def markdown(summary: dict) -> str:
    """The table, then the detailed SwinV2 tables."""
    lines = ['| part | status | time | figures |', '|---|---|---|---|']
    for row in summary['parts']:
        figures_text = row['figures']
        if row['note']:
            figures_text = (f'{row["note"]}; {figures_text}' if figures_text
                            else row['note'])
        seconds = f'{row["seconds"]} s' if row['seconds'] else ''
        lines.append(f'| {row["name"]}: {row["title"]} | {row["status"]} | '
                     f'{seconds} | {_cell(figures_text)} |')
    lines += swin_details(summary['results'].get('swin'))
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work', required=True)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    summary = summarize(args.work)
    text = markdown(summary)
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write(text)
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(text, end='')


if __name__ == '__main__':
    main()
