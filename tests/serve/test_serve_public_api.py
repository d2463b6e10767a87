"""Every name a serve module exports in ``__all__`` exists (the public surface is explicit)."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["serve", "serve.app", "serve.command", "serve.config", "serve.deps", "serve.errors", "serve.generation",
           "serve.model", "serve.ownership", "serve.schemas", "serve.sessions"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name):
    module = importlib.import_module(f"diffusion_dro.{name}")
    assert module.__all__, name
    assert [n for n in module.__all__ if not hasattr(module, n)] == []
