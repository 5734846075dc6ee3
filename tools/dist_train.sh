#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun.
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.  Without CUDA the
# processes run on CPU and talk over gloo.
set -eu
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
source "$(dirname "$0")/launch_env.sh"
exec "$PYTHON" -m torch.distributed.run \
  --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$NPROC" --master_port="$PORT" \
  "$VISREP_ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
