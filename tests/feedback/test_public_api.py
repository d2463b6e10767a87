"""Every name a feedback module exports in ``__all__`` exists (the public surface is explicit)."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["data.expert_set", "feedback.api", "feedback.curate", "feedback.curate_command", "feedback.db",
           "feedback.errors", "feedback.events", "feedback.folder", "feedback.images", "feedback.keys",
           "feedback.models", "feedback.settings", "feedback.simulate", "feedback.store", "feedback.throwaway_pg",
           "feedback.commands"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name):
    module = importlib.import_module(f"diffusion_dro.{name}")
    assert module.__all__, name
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_importing_the_api_opens_nothing(tmp_path):
    from diffusion_dro.feedback.api import create_app
    from diffusion_dro.feedback.settings import FeedbackSettings

    create_app(FeedbackSettings(data_root=str(tmp_path / "store")))
    assert not (tmp_path / "store").exists()  # the store opens in the lifespan, not at construction
