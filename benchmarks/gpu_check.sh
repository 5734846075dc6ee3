#!/usr/bin/env bash
# One command for when a GPU is lent: every CUDA check and GPU figure of
# this repo, each part under its own time limit, then one summary table.
#
#   bash benchmarks/gpu_check.sh [--out DIR] [--quick] [--only PARTS]
#                                [--budget SECONDS]
#
# Parts, in running order (setup and env always run first):
#   setup  packages the parts need but the machine lacks (mmengine, mmcv-lite,
#          mmpretrain, ...) installed from the wheels in .whl/, if any, into
#          a temporary --target folder put first on PYTHONPATH
#   env    the machine, torch, CUDA and package versions
#   tests  the CUDA-only tests (files skipped as a whole without CUDA, and
#          the CUDA branches of tests/balanced_sparsity/test_export.py)
#   swin   SwinV2-T 256 px w8 speed and memory, ours vs timm vs mmpretrain,
#          fp16 and bf16 AMP, SDPA on (benchmarks/gpu/swin_v2_amp.py)
#   b384   SwinV2-B 384 px fp16-AMP training steps with a GradScaler stay
#          finite (benchmarks/gpu/swin_v2_b384_fp16.py)
#   cbn    CBN's step vs BN's on a GPU (benchmarks/cbn_speed_standalone.py:
#          cbn_speed.py needs mmdet, which GPU machines lack)
#   semi   2:4 semi-structured fp16 linear vs dense
#          (benchmarks/balanced_sparsity.py semi)
#   ddp    two DDP steps over NCCL on every GPU (benchmarks/gpu/
#          ddp_two_steps.py); skipped with fewer than 2 GPUs
#
# Options:
#   --out DIR         where gpu_check.log (every part's output), summary.md
#                     and summary.json go (default work_dirs/gpu_check);
#                     the summary is rewritten after each part
#   --quick           smaller sizes and fewer rounds (about half the time)
#   --only A,B        run only these parts (comma-separated names above)
#   --budget SECONDS  total time for the parts (default 450, quick 240): a
#                     part's limit is its own cap or what is left, whichever
#                     is less; a part with under 30 s left is skipped
# Environment: PYTHON (default python3) is the Python with torch.
#
# Without a CUDA device (as the CUDA driver sees it) it checks its arguments,
# says that it skips the CUDA parts, writes the summary and exits 0.  Exit 2:
# a bad argument; 1: a part failed or ran out of time; 0 otherwise.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ALL_PARTS=(tests swin b384 cbn semi ddp)

# the comment above, without its '# '
usage() {
    sed -n '2,/^set -u$/p' "${BASH_SOURCE[0]}" | sed '$d' |
        sed 's/^# \{0,1\}//'
}

bad_argument() {
    echo "gpu_check.sh: $1" >&2
    echo "usage: bash benchmarks/gpu_check.sh [--out DIR] [--quick]" \
         "[--only PARTS] [--budget SECONDS]  (--help for more)" >&2
    exit 2
}

OUT=$REPO/work_dirs/gpu_check
QUICK=0
ONLY=''
BUDGET=''
while (($#)); do
    case $1 in
        --out) (($# >= 2)) || bad_argument '--out needs a directory'
               OUT=$2; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        --quick) QUICK=1; shift ;;
        --only) (($# >= 2)) || bad_argument '--only needs part names'
                ONLY=$2; shift 2 ;;
        --only=*) ONLY=${1#--only=}; shift ;;
        --budget) (($# >= 2)) || bad_argument '--budget needs seconds'
                  BUDGET=$2; shift 2 ;;
        --budget=*) BUDGET=${1#--budget=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) bad_argument "unknown argument '$1'" ;;
    esac
done
[[ -n $OUT ]] || bad_argument '--out needs a directory'
if [[ -n $BUDGET ]] && ! [[ $BUDGET =~ ^[0-9]+$ && $BUDGET -ge 30 ]]; then
    bad_argument "--budget '$BUDGET': give whole seconds, at least 30"
fi
BUDGET=${BUDGET:-$((QUICK ? 240 : 450))}
PARTS=("${ALL_PARTS[@]}")
if [[ -n $ONLY ]]; then
    IFS=',' read -r -a PARTS <<<"$ONLY"
    for part in "${PARTS[@]}"; do
        [[ " ${ALL_PARTS[*]} " == *" $part "* ]] ||
            bad_argument \
                "--only: unknown part '$part' (parts: ${ALL_PARTS[*]})"
    done
fi
mkdir -p "$OUT" 2>/dev/null && [[ -w $OUT ]] ||
    bad_argument "--out '$OUT': cannot create or write to this directory"
OUT=$(cd "$OUT" && pwd)

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null ||
    { echo "gpu_check.sh: no Python '$PY' (set PYTHON)" >&2; exit 1; }
cd "$REPO" || exit 1
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=10
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOG=$OUT/gpu_check.log
: >"$LOG"
: >"$WORK/parts.tsv"
START=$(date +%s)
DEADLINE=$((START + BUDGET))
FAILED=0

# record NAME STATUS SECONDS NOTE: one row of the table, summary rewritten
record() {
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$WORK/parts.tsv"
    echo "--- $1: $2${3:+ in $3 s}${4:+ ($4)}"
    "$PY" benchmarks/gpu/summary.py --work "$WORK" --out "$OUT" >/dev/null ||
        echo "gpu_check.sh: summary.py failed" >&2
}

# run_part NAME CAP COMMAND...: COMMAND under min(CAP, time left) seconds
run_part() {
    local name=$1 cap=$2 left limit begin rc seconds status note=''
    shift 2
    left=$((DEADLINE - $(date +%s)))
    if ((left < 30)); then
        record "$name" skipped '' "time budget spent (--budget $BUDGET)"
        return
    fi
    limit=$((cap < left ? cap : left))
    echo "=== $name (limit ${limit} s): $*" | tee -a "$LOG"
    begin=$(date +%s)
    timeout --kill-after=15 "$limit" "$@" 2>&1 | tee "$WORK/$name.log" >>"$LOG"
    rc=${PIPESTATUS[0]}
    seconds=$(($(date +%s) - begin))
    if ((rc == 0)); then
        status=ok
        grep -q 'not run here' "$WORK/$name.log" && status=skipped
    elif ((rc == 124 || rc == 137)); then
        status=timeout note="stopped at its ${limit} s limit"
        FAILED=1
    else
        status="failed (exit $rc)"
        FAILED=1
    fi
    if [[ $status != ok && $status != skipped ]]; then
        echo "    last lines of $name's output:"
        tr '\r' '\n' <"$WORK/$name.log" | grep -v 'it/s]$' | tail -n 25 |
            sed 's/^/    /'
    fi
    record "$name" "$status" "$seconds" "$note"
}

wants() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

NGPU=$("$PY" benchmarks/gpu/environment.py --count 2>>"$LOG") || NGPU=0
if ((NGPU == 0)); then
    echo "gpu_check.sh: no CUDA device here (the CUDA driver sees none):" \
         "skipping the CUDA parts: ${PARTS[*]}"
    for part in "${PARTS[@]}"; do
        printf '%s\tskipped\t\tno CUDA device\n' "$part" >>"$WORK/parts.tsv"
    done
    echo
    "$PY" benchmarks/gpu/summary.py --work "$WORK" --out "$OUT"
    echo "summary: $OUT/summary.md; log: $LOG"
    exit 0
fi
echo "gpu_check.sh: $NGPU CUDA device(s); parts: ${PARTS[*]};" \
     "budget ${BUDGET} s$( ((QUICK)) && echo ', quick')"
command -v nvidia-smi >/dev/null && nvidia-smi >>"$LOG" 2>&1

# setup: what the parts import but the machine may lack
if "$PY" -c 'import mmengine' 2>/dev/null; then
    record setup ok 0 'mmengine already importable: nothing installed'
elif compgen -G "$REPO/.whl/*.whl" >/dev/null; then
    SITE=$WORK/site
    begin=$(date +%s)
    if "$PY" -m pip install -q --no-index --no-deps --no-compile \
            --no-cache-dir --upgrade --target "$SITE" "$REPO"/.whl/*.whl \
            >>"$LOG" 2>&1; then
        export PYTHONPATH="$SITE:$PYTHONPATH"
        record setup ok $(($(date +%s) - begin)) \
            "installed $(ls "$REPO"/.whl/*.whl | wc -l) wheels from .whl/"
    else
        FAILED=1
        record setup failed $(($(date +%s) - begin)) \
            'pip could not install .whl/*.whl (see gpu_check.log)'
    fi
else
    FAILED=1
    record setup failed 0 \
        'mmengine missing and no .whl/*.whl to install it from'
fi
run_part env 60 "$PY" benchmarks/gpu/environment.py --json "$WORK/env.json"

if wants tests; then
    # files that skip as a whole without CUDA, and tests with CUDA branches
    mapfile -t CUDA_TESTS < <(grep -rlE --include='*.py' \
        'skipif\(not torch\.cuda\.is_available\(\)' tests | sort)
    EXPORT_TESTS=tests/balanced_sparsity/test_export.py
    CUDA_TESTS+=("$EXPORT_TESTS::test_semi_structured_check_on_this_machine")
    run_part tests 150 "$PY" -m pytest -q -p no:cacheprovider \
        "${CUDA_TESTS[@]}"
fi
if wants swin; then
    SWIN=(--batch 64 --rounds 15)
    ((QUICK)) && SWIN=(--batch 32 --rounds 5)
    run_part swin 240 "$PY" benchmarks/gpu/swin_v2_amp.py "${SWIN[@]}" \
        --json "$WORK/swin.json"
fi
if wants b384; then
    B384=(--batch 16 --steps 8)
    ((QUICK)) && B384=(--batch 8 --steps 5)
    run_part b384 120 "$PY" benchmarks/gpu/swin_v2_b384_fp16.py "${B384[@]}" \
        --json "$WORK/b384.json"
fi
if wants cbn; then
    if ((QUICK)); then
        CBN=(--size 224 224 --precision tf32 --rounds 10)
    else
        CBN=(--size 224 224 --size 800 1344 --precision tf32 fp32 bf16
             --rounds 20)
    fi
    run_part cbn 180 "$PY" benchmarks/cbn_speed_standalone.py --device cuda \
        "${CBN[@]}"
fi
if wants semi; then
    run_part semi 90 "$PY" benchmarks/balanced_sparsity.py semi --tokens 2048
fi
if wants ddp; then
    if ((NGPU >= 2)); then
        run_part ddp 120 "$PY" -m torch.distributed.run --standalone \
            --nproc_per_node "$NGPU" benchmarks/gpu/ddp_two_steps.py \
            --batch 8 --json "$WORK/ddp.json"
    else
        echo "gpu_check.sh: ddp skipped: $NGPU GPU, the DDP/NCCL run needs" \
             'at least 2'
        record ddp skipped '' "$NGPU GPU: needs at least 2"
    fi
fi

echo
echo "gpu_check.sh: done in $(($(date +%s) - START)) s"
"$PY" benchmarks/gpu/summary.py --work "$WORK" --out "$OUT"
echo "summary: $OUT/summary.md; log: $LOG"
exit "$FAILED"
