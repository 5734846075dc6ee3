#!/usr/bin/env bash
# Sets up the suite in a virtual environment inside the repo (default: .venv).
#
#   bash tools/setup_env.sh            # create or update .venv
#   bash tools/setup_env.sh --cuda cu128   # torch built for CUDA 12.8
#   bash tools/setup_env.sh --cuda cu128 --print-plan   # what it would do
#   VISREP_VENV=/path/to/venv bash tools/setup_env.sh
#
# --cuda picks the torch 2.13.0 build: cpu, cu126, cu128 or cu130 from
# download.pytorch.org/whl/<variant>; without --cuda, PyPI's default build
# (what CI uses).  --print-plan prints the parsed choices and exits.
#
# What it installs (pins in requirements/*.txt, exact versions in
# requirements/constraints.txt): torch 2.13.0 + torchvision 0.28.0,
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
MMCV_VERSION=2.1.0  # requirements/mmcv.txt

say() { printf '[setup %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }
usage_error() {  # bad command line: exit 2, as the other tools do
  printf 'setup_env.sh: error: %s\n' "$*" >&2
  printf 'usage: bash tools/setup_env.sh [--cuda cpu|cu126|cu128|cu130] [--print-plan]\n' >&2
  exit 2
}

# ---------------------------------------------------------------- options
# torch 2.13 builds on download.pytorch.org/whl/<variant> (not checkable
# from the machines this was written on: only PyPI is reachable there)
CUDA_VARIANT=pypi
PRINT_PLAN=0
while [ $# -gt 0 ]; do
  case $1 in
    --cuda) [ $# -ge 2 ] || usage_error "--cuda needs a value"
            CUDA_VARIANT=$2; shift 2 ;;
    --cuda=*) CUDA_VARIANT=${1#--cuda=}; shift ;;
    --print-plan) PRINT_PLAN=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
               exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
case $CUDA_VARIANT in
  pypi) TORCH_INDEX=""; TORCH_CUDA=any ;;
  cpu) TORCH_INDEX=https://download.pytorch.org/whl/cpu; TORCH_CUDA=none ;;
  cu126|cu128|cu130)
    TORCH_INDEX=https://download.pytorch.org/whl/$CUDA_VARIANT
    TORCH_CUDA=$(printf '%s.%s' "${CUDA_VARIANT:2:2}" "${CUDA_VARIANT:4}") ;;
  cu118|cu121|cu124)
    usage_error "--cuda $CUDA_VARIANT: torch 2.13.0 is not built for that CUDA (its last builds were for torch 2.5-2.7); use cu126, cu128, cu130 or cpu, or install visrep into an environment of your own with that torch (README: install into an existing environment)" ;;
  *) usage_error "--cuda $CUDA_VARIANT: not a torch 2.13.0 variant; use cpu, cu126, cu128 or cu130 (or no --cuda: PyPI's default build)" ;;
esac
# constraints.txt pins the CUDA libraries of PyPI's default torch build:
# another variant brings its own
CONSTRAINTS_FILE=$REQ/constraints.txt
[ -n "$TORCH_INDEX" ] && CONSTRAINTS_FILE=$LOG_DIR/constraints-$CUDA_VARIANT.txt
if [ "$PRINT_PLAN" = 1 ]; then
  printf 'venv=%s\npython=%s\ncuda_variant=%s\ntorch_index=%s\ntorch_cuda=%s\nconstraints=%s\nmmcv=%s\n' \
    "$VENV" "$PYTHON" "$CUDA_VARIANT" "${TORCH_INDEX:-pypi}" "$TORCH_CUDA" \
    "$CONSTRAINTS_FILE" "$MMCV_VERSION"
  exit 0
fi

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
if [ -n "$TORCH_INDEX" ]; then
  grep -vE '^(nvidia-|cuda-|triton==)' "$REQ/constraints.txt" > "$CONSTRAINTS_FILE"
fi
CONSTRAINTS=(-c "$CONSTRAINTS_FILE")

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
if [ -z "$TORCH_INDEX" ]; then
  say "torch 2.13.0 + torchvision 0.28.0 from PyPI (first run downloads ~3 GB)"
  pip_install torch -r "$REQ/torch.txt"
elif TORCH_CUDA=$TORCH_CUDA "$VPY" -c 'import os, sys, torch, torchvision
sys.exit((torch.version.cuda or "none") != os.environ["TORCH_CUDA"])' 2>/dev/null; then
  say "torch 2.13.0 ($CUDA_VARIANT) already installed"
else
  # the variant index also serves torch's own dependencies; a torch of
  # another variant (pip counts 2.13.0+cu128 as 2.13.0) is replaced
  say "torch 2.13.0 + torchvision 0.28.0 ($CUDA_VARIANT) from $TORCH_INDEX (first run downloads up to ~3 GB)"
  pip_install torch --index-url "$TORCH_INDEX" --force-reinstall -r "$REQ/torch.txt"
fi
TORCH_CUDA=$TORCH_CUDA CUDA_VARIANT=$CUDA_VARIANT "$VPY" - <<'EOF' || die "torch/torchvision do not load together, or not the $CUDA_VARIANT build (a local +cpu torch wheel was picked?)"
import os, torch, torchvision
from torchvision.ops import nms
assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__
want = os.environ['TORCH_CUDA']
if want == 'any':  # PyPI's default build, never the machine's local +cpu one
    assert '+cpu' not in torch.__version__, 'the local torch+cpu wheel was installed'
else:
    got = torch.version.cuda or 'none'
    assert got == want, f'--cuda {os.environ["CUDA_VARIANT"]} wants CUDA {want}, torch has {got}'
nms(torch.rand(4, 4) * 10, torch.rand(4), 0.5)
print(f'[setup] torch {torch.__version__} (CUDA {torch.version.cuda}, '
      f'available: {torch.cuda.is_available()}), torchvision {torchvision.__version__}: ok')
EOF

# ---------------------------------------------------------------- mmcv
# tools/setup_env_mmcv.py decides: ok / install / rebuild (no compiled ops,
# or CUDA present and its kernels missing or failing a CUDA op) /
# no-compiler (CUDA kernels needed, no nvcc)
MMCV_STATE=""
mmcv_check() {  # sets MMCV_STATE to the action and says the reason
  local out rc=0
  out=$("$VPY" "$ROOT/tools/setup_env_mmcv.py" --expected "$MMCV_VERSION" 2>/dev/null) || rc=$?
  case $rc in
    0) MMCV_STATE=ok ;; 10) MMCV_STATE=install ;; 11) MMCV_STATE=rebuild ;;
    12) MMCV_STATE=no-compiler ;; *) MMCV_STATE=install ;;
  esac
  say "mmcv check: ${out:-the check did not run (exit $rc)}"
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

rebuild_mmcv() {
  # A cached wheel without ops (torch missing at build time) or without CUDA
  # kernels (built on a machine without CUDA) must not be reused: rebuild
  # from source, bypassing the cache; FORCE_CUDA builds the CUDA kernels.
  [ "$MMCV_STATE" = no-compiler ] && die "cannot build mmcv's CUDA kernels (see the mmcv check above)"
  say "rebuilding mmcv $MMCV_VERSION from source without pip's cache (~12 min on 2 cores)"
  local force_cuda=0
  "$VPY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null && force_cuda=1
  FORCE_CUDA=$force_cuda install_mmcv --force-reinstall --no-deps --no-cache-dir \
    || { tail -n 60 "$LOG_DIR/mmcv.log" >&2; die "mmcv build failed; log: $LOG_DIR/mmcv.log"; }
}

mmcv_check
if [ "$MMCV_STATE" = install ]; then
  say "mmcv $MMCV_VERSION with ops: pip's cached wheel if there is one, else a source build (~12 min on 2 cores)"
  install_mmcv || { tail -n 60 "$LOG_DIR/mmcv.log" >&2; die "mmcv install failed; log: $LOG_DIR/mmcv.log"; }
  mmcv_check
fi
if [ "$MMCV_STATE" = rebuild ] || [ "$MMCV_STATE" = no-compiler ]; then
  rebuild_mmcv
  mmcv_check
fi
[ "$MMCV_STATE" = ok ] || die "mmcv is still not usable (see the mmcv check above); log: $LOG_DIR/mmcv.log"

# ---------------------------------------------------------------- toolkits
say "mmengine, mmdet, mmseg, mmpretrain, mmaction2 and their undeclared needs (visrep[all])"
EXTRA_REQS=()
for extra in det seg cls video icar simmim; do EXTRA_REQS+=(-r "$REQ/$extra.txt"); done
pip_install runtime -r "$REQ/runtime.txt" "${EXTRA_REQS[@]}"
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
