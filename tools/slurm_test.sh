#!/usr/bin/env bash
# Testing on a slurm cluster, one task per GPU.
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#     bash tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
set -eu
source "$(dirname "$0")/launch_env.sh"
srun_tool "$1" "$2" test.py "$3" "$4" "${@:5}"
