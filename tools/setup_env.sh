#!/usr/bin/env bash
# Sets up the suite in a virtual environment inside the repo (default: .venv).
#
#   bash tools/setup_env.sh            # create or update .venv
#   VISREP_VENV=/path/to/venv bash tools/setup_env.sh
#
# What it installs (pins in requirements/*.txt, exact versions in
# requirements/constraints.txt): torch 2.13.0 + torchvision 0.28.0 from PyPI,
# mmcv 2.1.0 built from source with its compiled ops, mmengine 0.10.7,
# mmdet 3.3.0, mmsegmentation 1.2.2, mmpretrain 1.2.0, mmaction2 1.2.0, their
# undeclared needs, the test tools, and this repo in editable mode.
#
# pip runs with --isolated: these machines point PIP_FIND_LINKS and pip.conf at
# a local torch+cpu wheel that PyPI's torchvision cannot load against.  The
# mmcv wheel that pip builds is kept in pip's wheel cache, so a second run
# (even into a fresh venv) installs it in seconds instead of rebuilding.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VISREP_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
REQ=$ROOT/requirements
LOG_DIR=$VENV/setup-logs
START=$SECONDS

say() { printf '[setup %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- venv
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on PATH; set PYTHON=/path/to/python3.11"
  say "creating virtual environment $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
VPY=$VENV/bin/python
PYVER=$("$VPY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$PYVER" = "3.11" ] || say "warning: the pinned stack is tested on Python 3.11, this venv has $PYVER"
mkdir -p "$LOG_DIR"

PIP=("$VPY" -m pip --isolated --disable-pip-version-check --timeout 180 --retries 10)
CERT=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$CERT" ] && PIP+=(--cert "$CERT")
CONSTRAINTS=(-c "$REQ/constraints.txt")

pip_install() {  # pip_install <log name> <pip args...>: quiet install, log kept
  local name=$1; shift
  if ! "${PIP[@]}" install --progress-bar off "${CONSTRAINTS[@]}" "$@" \
      > "$LOG_DIR/$name.log" 2>&1; then
    tail -n 40 "$LOG_DIR/$name.log" >&2
    die "pip install ($name) failed; full log: $LOG_DIR/$name.log"
  fi
  grep -E '^Successfully installed' "$LOG_DIR/$name.log" | cut -c1-400 || true
}

# ---------------------------------------------------------------- build tools
say "build tools (pip, setuptools<81, wheel, ninja)"
pip_install build -r "$REQ/build.txt"

# ---------------------------------------------------------------- torch
say "torch 2.13.0 + torchvision 0.28.0 from PyPI (first run downloads ~3 GB)"
pip_install torch -r "$REQ/torch.txt"
"$VPY" - <<'EOF' || die "torch/torchvision do not load together (a local +cpu torch wheel was picked?)"
import torch, torchvision
from torchvision.ops import nms
assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__
assert '+cpu' not in torch.__version__, 'the local torch+cpu wheel was installed'
nms(torch.rand(4, 4) * 10, torch.rand(4), 0.5)
print(f'[setup] torch {torch.__version__}, torchvision {torchvision.__version__}: ok')
EOF

# ---------------------------------------------------------------- mmcv
mmcv_ok() {
  "$VPY" - <<'EOF' >/dev/null 2>&1
import mmcv
assert mmcv.__version__ == '2.1.0'
from mmcv.ops import batched_nms, sigmoid_focal_loss, RoIAlign  # needs mmcv._ext
EOF
}

# Prints ninja's "[k/N] source.cpp" lines (and pip's cache/build lines) with the
# elapsed time; everything goes to the log given as $1.
read -r -d '' BUILD_PROGRESS_PY <<'EOF' || true
import re, sys, time
t0 = time.time()
keep = re.compile(r'Using cached|Building wheel for|Created wheel for|Stored in directory|Successfully installed|Processing .*mmcv')
with open(sys.argv[1], 'w') as log:
    for line in sys.stdin:
        log.write(line)
        log.flush()
        step = re.match(r'\s*\[(\d+/\d+)\] ', line)
        if step:
            src = re.search(r' -c (?:-c )*(\S+)', line)  # torch writes '-c -c'
            if src:
                name = src.group(1).split('/csrc/')[-1]
                print(f'[setup mmcv] [{step.group(1)}] {name} ({time.time() - t0:.0f}s)', flush=True)
        elif keep.search(line):
            print('[setup mmcv]', line.strip()[:200], flush=True)
EOF
build_progress() { "$VPY" -u -c "$BUILD_PROGRESS_PY" "$1"; }

install_mmcv() {  # install_mmcv [extra pip args]
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(($(nproc) + 1))} \
    "${PIP[@]}" install -v --no-build-isolation --progress-bar off \
    "${CONSTRAINTS[@]}" "$@" -r "$REQ/mmcv.txt" 2>&1 | build_progress "$LOG_DIR/mmcv.log"
}

if mmcv_ok; then
  say "mmcv 2.1.0 with compiled ops already installed"
else
  say "mmcv 2.1.0 with ops: pip's cached wheel if there is one, else a source build (~12 min on 2 cores)"
  install_mmcv || { tail -n 60 "$LOG_DIR/mmcv.log" >&2; die "mmcv install failed; log: $LOG_DIR/mmcv.log"; }
  if ! mmcv_ok; then
    # A cached wheel built without ops (e.g. torch was missing at build time)
    # must not be reused: rebuild from source, bypassing the cache.
    say "the installed mmcv has no compiled ops; rebuilding from source without the cache"
    install_mmcv --force-reinstall --no-deps --no-cache-dir \
      || { tail -n 60 "$LOG_DIR/mmcv.log" >&2; die "mmcv build failed; log: $LOG_DIR/mmcv.log"; }
    mmcv_ok || die "mmcv still has no compiled ops; log: $LOG_DIR/mmcv.log"
  fi
fi

# ---------------------------------------------------------------- toolkits
say "mmengine, mmdet, mmseg, mmpretrain, mmaction2 and their undeclared needs"
pip_install runtime -r "$REQ/runtime.txt"
say "test tools"
pip_install tests -r "$REQ/tests.txt"
say "this repo in editable mode"
pip_install editable --no-build-isolation --no-deps -e "$ROOT"

# ---------------------------------------------------------------- check
"$VPY" - <<'EOF' || die "the installed stack does not import; see the traceback above"
import importlib
import visrep  # applies the compatibility layer
for name in ('torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'mmseg',
             'mmpretrain', 'mmaction'):
    mod = importlib.import_module(name)
    print(f'[setup] {name:12s} {mod.__version__}')
for name in ('mmdet.models', 'mmseg.models', 'mmpretrain.models', 'mmaction.models'):
    importlib.import_module(name)
print('[setup] all four toolkits import their models: ok')
EOF
say "done in $((SECONDS - START)) s; python: $VPY"
