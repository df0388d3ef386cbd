#!/usr/bin/env bash
# Set up (tools/setup.sh test) and run every test: front-end unit tests (vitest), Python unit and
# widget tests, end-to-end tests in JupyterLab + headless Chromium, and the lecture notebooks
# under nbval. Extra arguments go to pytest (e.g. -k gradcam, -m "not e2e").
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh test
# shellcheck disable=SC1091
. "${CNNW_VENV:-.venv}/bin/activate"

# Lint and format (pyproject.toml's [tool.ruff]); the import order is checked by
# tests/test_architecture.py.
ruff check .
ruff format --check .

(cd js && npm test --silent)

# Notebooks run their long loops (training epochs, gradient-ascent steps) shortened.
export CNNW_FAST=1
export MPLBACKEND=Agg
python -m pytest tests notebooks --nbval-lax -p no:cacheprovider -q -rs "$@"
