# Sourced by the dist_* and slurm_* scripts.
# PYTHON overrides the interpreter; otherwise the repo's .venv if it exists
# (and no other virtualenv is active), else `python`.
VISREP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$VISREP_ROOT/.venv/bin/python" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    PYTHON=$VISREP_ROOT/.venv/bin/python
  else
    PYTHON=python
  fi
fi
export PYTHONPATH="$VISREP_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# torchrun_tool NPROC TOOL.py ARGS...: torchrun on this node.
# NNODES, NODE_RANK, MASTER_ADDR and PORT for several nodes.
torchrun_tool() {
  local nproc=$1 tool=$2
  shift 2
  exec "$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$nproc" "$VISREP_ROOT/tools/$tool" "$@" --launcher pytorch
}

# srun_tool PARTITION JOB_NAME TOOL.py ARGS...: one task per GPU with srun.
# GPUS (8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS.
srun_tool() {
  local partition=$1 job_name=$2 tool=$3
  shift 3
  local gpus=${GPUS:-8} per_node=${GPUS_PER_NODE:-8}
  # shellcheck disable=SC2086
  exec srun -p "$partition" --job-name="$job_name" --gres=gpu:"$per_node" \
    --ntasks="$gpus" --ntasks-per-node="$per_node" \
    --cpus-per-task="${CPUS_PER_TASK:-5}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    "$PYTHON" -u "$VISREP_ROOT/tools/$tool" "$@" --launcher=slurm
}
