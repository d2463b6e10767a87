"""Test-wide set-up: hermetic and offline Hugging Face caches, small thread counts.

The environment is set before any test module imports huggingface_hub, which
reads these variables once at import.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="dro-test-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_CACHE"] = os.path.join(_HF_HOME, "hub")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def hub_cache() -> str:
    """The offline hub cache every test shares (see tiny_pipelines.install_in_hub_cache)."""
    return os.environ["HF_HUB_CACHE"]


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    if os.environ.get("DRO_CHROMIUM"):
        return os.environ["DRO_CHROMIUM"]
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


@pytest.fixture(scope="module")
def page():
    """A headless Chromium page (Playwright). A system Chromium (``/usr/bin/chromium`` from Debian, or
    ``$DRO_CHROMIUM``) because ``playwright install`` needs network; CI installs it with ``.ci/chromium.sh``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the test extra has it)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found (looked for $DRO_CHROMIUM and " + ", ".join(BROWSERS)
                    + "); install it with .ci/chromium.sh (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()
