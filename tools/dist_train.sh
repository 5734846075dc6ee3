#!/usr/bin/env bash
# Distributed training with torchrun; without CUDA the processes run on CPU
# and talk over gloo.
#   bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# Several nodes: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -eu
source "$(dirname "$0")/launch_env.sh"
torchrun_tool "$2" train.py "$1" "${@:3}"
