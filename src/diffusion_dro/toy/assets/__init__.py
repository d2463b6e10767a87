"""Shipped toy models: ``base/`` (diffusers-style folder) and ``judge/``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def asset_path(name: str) -> Path:
    return Path(str(files(__name__).joinpath(name)))
