"""The LR schedule: hand-worked factors, and a run whose LR decays to zero over its budget."""

from __future__ import annotations

import json
import math

import pytest

from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.loop import train
from diffusion_dro.train.lr_schedule import budget_progress, lr_factor


def test_budget_progress_takes_the_budget_closer_to_its_end():
    assert budget_progress(3, 30.0, max_steps=10, max_minutes=None) == pytest.approx(0.3)
    assert budget_progress(3, 30.0, max_steps=None, max_minutes=1.0) == pytest.approx(0.5)
    assert budget_progress(3, 30.0, max_steps=10, max_minutes=1.0) == pytest.approx(0.5)  # the clock is ahead
    assert budget_progress(8, 30.0, max_steps=10, max_minutes=1.0) == pytest.approx(0.8)  # the steps are ahead
    assert budget_progress(12, 90.0, max_steps=10, max_minutes=1.0) == 1.0


def test_lr_factor_hand_worked():
    assert lr_factor("constant", 0, 0, 0.7) == 1.0
    assert lr_factor("constant", 1, 4, 0.7) == pytest.approx(0.5)  # warm-up: (1 + 1) / 4
    assert lr_factor("linear", 1, 4, 0.5) == pytest.approx(0.25)
    assert lr_factor("linear", 9, 0, 0.9) == pytest.approx(0.1)
    assert lr_factor("cosine", 9, 0, 0.5) == pytest.approx(0.5)
    assert lr_factor("cosine", 9, 0, 0.25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor("cosine", 9, 0, 1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="unknown LR schedule"):
        lr_factor("step", 0, 0, 0.0)


def test_a_linear_schedule_decays_over_the_step_budget(tmp_path, toy_expert_dir):
    train(TrainConfig(out=str(tmp_path / "run"), experts=toy_expert_dir, objective="sft", max_steps=4, batch_size=2,
                      learning_rate=1e-3, lr_scheduler="linear", progress=False, device="cpu"))
    lrs = [json.loads(ln)["lr"] for ln in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert lrs == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4])
