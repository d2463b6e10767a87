from __future__ import annotations

import pytest

from diffusion_dro.models.loading import load_backbone
from diffusion_dro.toy.experts import ToyExpertsConfig, toy_experts


@pytest.fixture(scope="session")
def toy_backbone():
    return load_backbone("toy")


@pytest.fixture(scope="session")
def toy_expert_dir(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("experts") / "set"
    toy_experts(ToyExpertsConfig(out=str(out), pool=64, top_fraction=0.25))
    return str(out)
