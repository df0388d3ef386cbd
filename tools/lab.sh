#!/usr/bin/env bash
# Set up (tools/setup.sh) and open the lecture notebooks in JupyterLab.
# Extra arguments go to `jupyter lab` (e.g. --port 8890 --no-browser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh lab
# shellcheck disable=SC1091
. "${CNNW_VENV:-.venv}/bin/activate"
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
exec jupyter lab --notebook-dir=notebooks "${extra[@]}" "$@"
