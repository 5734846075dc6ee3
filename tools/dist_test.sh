#!/usr/bin/env bash
# Distributed testing with torchrun.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
set -eu
source "$(dirname "$0")/launch_env.sh"
torchrun_tool "$3" test.py "$1" "$2" "${@:4}"
