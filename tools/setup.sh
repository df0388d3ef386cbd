#!/usr/bin/env bash
# Set up everything cnnwidgets needs on a fresh machine, idempotently:
#   bash tools/setup.sh          the package, PyTorch and JupyterLab (to use the notebooks)
#   bash tools/setup.sh test     also the test tools: peers (pytorch-grad-cam, Captum, lucent),
#                                nbval, Playwright, Chromium, and the front end's npm packages
# The virtual environment lives in .venv (override with CNNW_VENV).
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-lab}"
venv="${CNNW_VENV:-.venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
pip_q() { python -m pip install --disable-pip-version-check -q "$@"; }

# torch and torchvision as a matching pair first: letting a later resolver pick them can pair
# a torchvision with a torch it does not import beside.
if ! python -c "import torch, torchvision" 2>/dev/null; then
  pip_q "torch==2.14.1" "torchvision==0.29.1"
fi

if [ "$what" = "test" ]; then
  pip_q -e ".[test]"
  # lucent pins kornia<=0.4.1, which does not build against current torch; its code runs fine
  # with today's kornia, so install it without that pin.
  if ! python -c "import lucent.optvis.render" 2>/dev/null; then
    pip_q --no-deps "torch-lucent==0.1.8"
    pip_q decorator kornia future
  fi
  bash tools/install_browser.sh
  if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules/.package-lock.json ]; then
    (cd js && npm ci --no-audit --no-fund --loglevel=error)
  fi
else
  pip_q -e ".[lab]"
fi
