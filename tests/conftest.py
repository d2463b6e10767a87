"""Test-wide set-up: hermetic and offline Hugging Face caches, small thread counts.

The environment is set before any test module imports huggingface_hub, which
reads these variables once at import.
"""

from __future__ import annotations

import os
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
