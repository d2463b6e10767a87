"""One real ``dro eval`` run shared by the evaluation tests, and the perturbed toy models it compares.

Models: ``base`` (the shipped toy), ``same`` (the toy again: every pair ties),
``lora`` (a LoRA with random nonzero weights) and ``full`` (a fully fine-tuned
folder, ``unet/`` + ``dro_base.json``, whose UNet weights carry Gaussian noise).
Both perturbations wreck the images, so the toy judge sees them lose.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eval_fixtures import eval_args, save_noisy_full_model, save_random_lora


@pytest.fixture(scope="session")
def perturbed(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("perturbed")
    return {"lora": save_random_lora(root / "lora"), "full": save_noisy_full_model(root / "full", 0.2)}


@pytest.fixture(scope="session")
def eval_run(tmp_path_factory, perturbed) -> tuple[Path, dict]:
    """(output folder, results) of one CLI run; tests that change files work on a copy (``eval_copy``)."""
    from diffusion_dro.cli.main import main

    out = tmp_path_factory.mktemp("eval") / "out"
    assert main(eval_args(out, perturbed)) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture
def eval_copy(eval_run, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(eval_run[0], target)
    return target
