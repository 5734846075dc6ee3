# Sourced by the dist_* and slurm_* scripts: picks the Python to run.
# PYTHON overrides; otherwise the repo's .venv if it exists, else `python`.
VISREP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$VISREP_ROOT/.venv/bin/python" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    PYTHON=$VISREP_ROOT/.venv/bin/python
  else
    PYTHON=python
  fi
fi
export PYTHONPATH="$VISREP_ROOT${PYTHONPATH:+:$PYTHONPATH}"
