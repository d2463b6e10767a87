#!/usr/bin/env bash
# Install the Chromium that the report screenshot test drives through Playwright
# (tests/evaluate/test_eval_browser.py; it skips, saying why, when no Chromium is found).
# `playwright install` downloads browsers from a CDN, which CI cannot reach; the Debian
# package comes from the ordinary package mirror. CI runs this as root on Debian.
set -euo pipefail
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "chromium already installed: $(command -v "$name")"
        exit 0
    fi
done
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium
command -v chromium
