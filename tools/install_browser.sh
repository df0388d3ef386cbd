#!/usr/bin/env bash
# Installs Debian's chromium for the end-to-end tests (tests/e2e) when it is missing.
# Playwright's own browser download (`playwright install`) is never used: it needs a CDN
# these machines cannot reach, and Debian's build works with Playwright's Python client.
set -euo pipefail

CHROMIUM="${CNNWIDGETS_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    echo "chromium present: $CHROMIUM"
    exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "chromium is missing and we are not root (no sudo): install the 'chromium' package" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Another process may hold the dpkg lock (several engineers share the machine): retry a while.
for attempt in 1 2 3 4 5 6; do
    if $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends chromium; then
        break
    fi
    echo "apt-get failed (attempt $attempt), retrying in 10 s" >&2
    sleep 10
done

if [ ! -x /usr/bin/chromium ]; then
    echo "chromium install failed" >&2
    exit 1
fi
/usr/bin/chromium --version || true
