#!/usr/bin/env bash
# Train and test every small-data config of the metafiles (their `SmallData`
# lists), then collect the numbers into benchmarks/results/small_data.json
# and regenerate the reproduction tables of the project READMEs.
#
#   bash tools/reproduce_small.sh [--only PATTERN] [--work-root DIR]
#                                 [--no-table] [--dry-run] [CONFIG[@FROM] ...]
#
# --only PATTERN   run only the configs whose path matches PATTERN (grep -E)
# --work-root DIR  where the runs go, one dir per config stem
#                  (default: work_dirs/small)
# --no-table       train and test only; do not touch the results or READMEs
# --dry-run        print the run plan and stop
# CONFIG[@FROM]    these configs instead of the metafiles' SmallData lists;
#                  @FROM: start from the last checkpoint of config FROM
#                  (`load_from`, as a SmallData entry's `Load From`)
#
# The small datasets are written to data/small/ first when it is missing.  A
# config that reads another run's checkpoint from `work_dirs/<stem>/...`
# (fine-tuning after pre-training) or loads one (`Load From`) gets that run
# first (reused when it is not asked for and has a checkpoint), the path
# moved into the work root.  Every run trains with --seed 0 and is tested on
# its last checkpoint; a failed run is reported at the end and the others go on.
# PYTHON picks the interpreter (default: the repo's .venv, as dist_train.sh).
set -u
source "$(dirname "$0")/launch_env.sh"
cd "$VISREP_ROOT"

ONLY=''
WORK_ROOT='work_dirs/small'
TABLE=1
DRY_RUN=0
CONFIGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY=${2:?--only needs a PATTERN}; shift 2 ;;
    --work-root) WORK_ROOT=${2:?--work-root needs a DIR}; shift 2 ;;
    --no-table) TABLE=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' \
                 "$0"; exit 0 ;;
    -*) echo "reproduce_small.sh: unknown option $1 (see --help)" >&2
        exit 2 ;;
    *) CONFIGS+=("$1"); shift ;;
  esac
done

if [ ${#CONFIGS[@]} -eq 0 ]; then
  mapfile -t CONFIGS < <("$PYTHON" tools/analysis_tools/reproduction_table.py \
    --list-small-data) || {
    echo 'reproduce_small.sh: could not list the SmallData configs of the' \
      'metafiles (see above); pass the configs as arguments instead.' >&2
    exit 2
  }
fi
if [ -n "$ONLY" ]; then
  mapfile -t CONFIGS < <(printf '%s\n' "${CONFIGS[@]}" | grep -E -- "$ONLY")
fi
if [ ${#CONFIGS[@]} -eq 0 ]; then
  echo "reproduce_small.sh: no config to run (--only: ${ONLY:-none})." >&2
  exit 2
fi

# The run plan: one line per run, in order, tab-separated: config; 1 when
# it has a test loop (else 0); 1 when asked for (0: pulled in as another
# run's dependency); the stem of the run whose last checkpoint it loads
# (`load_from`; '-' for none); its --cfg-options overrides.  An argument
# CONFIG@OTHER loads OTHER's last checkpoint (a SmallData `Load From`);
# checkpoints named as work_dirs/<stem>/... in a config are dependencies too.
plan_runs() {
  "$PYTHON" -W ignore - "$WORK_ROOT" "$@" <<'EOF'
import glob
import os.path as osp
import re
import sys
from typing import Dict, Iterator, List, Tuple

from mmengine.config import Config

DEPENDENCY = re.compile(r'^(?:\./)?work_dirs/([^/]+)/(.+)$')


def stem(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def strings(node, key: str = '') -> Iterator[Tuple[str, str]]:
    """(dotted key, value) of every string reachable through dicts."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from strings(value, f'{key}.{name}' if key else name)
    elif isinstance(node, str):
        yield key, node


def load(config: str) -> Config:
    """The config; visrep (slow to import) only for visrep:: names."""
    try:
        return Config.fromfile(config)
    except Exception:  # noqa: BLE001  (retried with the names registered)
        import visrep  # noqa: F401
        return Config.fromfile(config)


def find_config(name: str) -> str:
    found = sorted(glob.glob(f'configs/**/{name}.py', recursive=True))
    return found[0] if found else ''


def plan(work_root: str, args: List[str]) -> List[Tuple]:
    runs: Dict[str, Tuple] = {}

    def visit(config: str, asked: int, load_from: str = '') -> None:
        if not osp.isfile(config):
            sys.exit(f'reproduce_small.sh: config {config!r} does not exist')
        if stem(config) in runs:
            return
        if load_from:
            visit(load_from, 0)
        cfg = load(config)
        overrides = []
        for key, value in strings(cfg.to_dict()):
            match = DEPENDENCY.match(value)
            dependency = find_config(match.group(1)) if match else ''
            if not dependency:
                continue
            visit(dependency, 0)
            overrides.append(
                f'{key}={work_root}/{match.group(1)}/{match.group(2)}')
        tested = int(all(cfg.get(k) is not None for k in
                         ('test_dataloader', 'test_evaluator', 'test_cfg')))
        runs[stem(config)] = (config, tested, asked,
                              stem(load_from) if load_from else '-',
                              ' '.join(overrides))

    for arg in args:
        config, _, load_from = arg.partition('@')
        visit(config, 1, load_from)
    # a run asked for itself (also when an earlier one pulled it in)
    asked = {arg.partition('@')[0] for arg in args}
    return [(c, t, int(c in asked), lf, o) for c, t, _, lf, o in
            runs.values()]


for run in plan(sys.argv[1], sys.argv[2:]):
    print('\t'.join(str(field) for field in run))
EOF
}

mapfile -t PLAN < <(plan_runs "${CONFIGS[@]}")
if [ ${#PLAN[@]} -eq 0 ]; then
  echo 'reproduce_small.sh: could not read the configs (see above).' >&2
  exit 2
fi
if [ "$DRY_RUN" = 1 ]; then
  printf '%s\n' "${PLAN[@]}"
  exit 0
fi

if [ ! -d data/small ]; then
  echo '== writing the small datasets to data/small/'
  "$PYTHON" tools/dataset_converters/make_small_datasets.py || exit 1
fi

mkdir -p "$WORK_ROOT"
FAILED=()
DONE=()
SUMMARY=()
total=${#PLAN[@]}
# The checkpoint a run's `last_checkpoint` records, which is relative to its
# work dir (an absolute record, written by older versions, is kept).
recorded_checkpoint() {
  local record
  record=$(cat "$1/last_checkpoint")
  case "$record" in
    /*) echo "$record" ;;
    *) echo "$1/$record" ;;
  esac
}

i=0
for line in "${PLAN[@]}"; do
  i=$((i + 1))
  IFS=$'\t' read -r config tested asked load_from overrides <<<"$line"
  name=$(basename "$config" .py)
  work_dir="$WORK_ROOT/$name"
  out="$WORK_ROOT/$name.out"
  if [ "$asked" = 0 ] && [ -f "$work_dir/last_checkpoint" ]; then
    echo "== [$i/$total] $name: needed by a later run; reusing $work_dir"
    continue
  fi
  if [ "$load_from" != - ]; then
    if [ ! -f "$WORK_ROOT/$load_from/last_checkpoint" ]; then
      echo "== [$i/$total] $name: FAILED, it loads the last checkpoint of" \
        "$load_from, which did not train"
      FAILED+=("$name (no checkpoint of $load_from)")
      continue
    fi
    checkpoint=$(recorded_checkpoint "$WORK_ROOT/$load_from")
    overrides="$overrides load_from=$checkpoint"
  fi
  rm -rf "$work_dir"  # a failed rerun must not leave the old numbers behind
  # shellcheck disable=SC2206
  options=(${overrides:+--cfg-options $overrides})
  echo "== [$i/$total] $name: training (log: $out)"
  start=$(date +%s)
  if ! "$PYTHON" tools/train.py "$config" --work-dir "$work_dir" --seed 0 \
      "${options[@]}" >"$out" 2>&1; then
    echo "   FAILED after $(($(date +%s) - start)) s; the end of $out:"
    tail -n 15 "$out" | sed 's/^/   | /'
    FAILED+=("$name (training)")
    continue
  fi
  trained=$(($(date +%s) - start))
  result="train ${trained} s"
  if [ "$tested" = 1 ]; then
    echo "   trained in ${trained} s; testing"
    checkpoint=$(recorded_checkpoint "$work_dir")
    if ! "$PYTHON" tools/test.py "$config" "$checkpoint" \
        --work-dir "$work_dir" "${options[@]}" >>"$out" 2>&1; then
      echo "   test FAILED; the end of $out:"
      tail -n 15 "$out" | sed 's/^/   | /'
      FAILED+=("$name (test)")
      continue
    fi
    result="$result, test $(($(date +%s) - start - trained)) s"
  fi
  echo "   done: $result"
  SUMMARY+=("$name: $result")
  DONE+=("$work_dir")
done

echo "== $((total - ${#FAILED[@]}))/$total runs done"
printf '   %s\n' "${SUMMARY[@]}"
status=0
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "== ${#FAILED[@]} failed (their logs: $WORK_ROOT/<name>.out):"
  printf '   %s\n' "${FAILED[@]}"
  status=1
fi

if [ "$TABLE" = 1 ] && [ ${#DONE[@]} -gt 0 ]; then
  echo '== collecting the results and regenerating the README tables'
  "$PYTHON" tools/analysis_tools/reproduction_table.py "${DONE[@]}" \
    --save-results benchmarks/results/small_data.json --update-readmes \
    || status=1
fi
exit $status
