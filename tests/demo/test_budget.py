"""The demo's training plan: hand-worked cases of ``plan_training``."""

from __future__ import annotations

import pytest

from diffusion_dro.demo.budget import MIN_TRAIN_MINUTES, plan_training


def test_training_gets_what_the_other_stages_leave_of_the_target():
    # 600 s target - 200 s spent - 2 models x 30 s of images - 30 s reserve = 310 s.
    plan = plan_training(10, spent_s=200, eval_images_s=30, models_to_evaluate=2, reserve_s=30)
    assert plan.fits and plan.minutes == pytest.approx(310 / 60)
    # One model left to evaluate (--skip-baseline) frees its images' 30 s for training.
    assert plan_training(10, 200, 30, 1, reserve_s=30).minutes == pytest.approx(340 / 60)
    # A second round's feedback and curation, about as long as the first's, come out of training too.
    assert plan_training(10, 200, 30, 2, later_feedback_s=120, reserve_s=30).minutes == pytest.approx(190 / 60)


def test_a_machine_too_slow_for_the_target_gets_the_floor_and_says_so():
    plan = plan_training(5, spent_s=280, eval_images_s=30, models_to_evaluate=2, reserve_s=0)  # 300 - 340 < 0
    assert not plan.fits and plan.minutes == MIN_TRAIN_MINUTES
    edge = plan_training(5, spent_s=180, eval_images_s=30, models_to_evaluate=2, reserve_s=0)  # exactly 60 s left
    assert edge.fits and edge.minutes == pytest.approx(MIN_TRAIN_MINUTES)
