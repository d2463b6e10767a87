"""The demo's wall clock: how long training may run for the whole demo to end inside ``--target-minutes``.

Machines of one type differ: on 2 cores of AVX-512 AMD EPYCs the demo's fixed work (showing 2,048
images, evaluating 384) took 2.5 minutes in some sessions and 4.3 in another (BENCHMARKS.md), so a
fixed training time either wastes a fast machine's minutes or overruns on a slow one. The demo
therefore plans training when it gets there: everything before it has run and is timed, and what
comes after it is measured ahead. The base's evaluation images are generated before training (they
do not depend on it), and each trained model's images cost what the base's did (the same network,
the adapter merged into its weights).
"""

from __future__ import annotations

from dataclasses import dataclass

# Not in any stage's clock: the demo's and the training processes' start-up (imports, model loading,
# encoding the experts), scoring, the report (22 s of a measured 10-minute run); and slack for a machine
# whose speed drifts mid-run.
RESERVE_S = 40.0
MIN_TRAIN_MINUTES = 1.0


@dataclass(frozen=True)
class TrainingPlan:
    minutes: float  # training wall clock of all rounds together
    fits: bool  # False: the other stages alone leave less than MIN_TRAIN_MINUTES; ``minutes`` is that floor


def plan_training(target_minutes: float, spent_s: float, eval_images_s: float, models_to_evaluate: int,
                  later_feedback_s: float = 0.0, reserve_s: float = RESERVE_S) -> TrainingPlan:
    """Training minutes that end the demo at ``target_minutes``.

    ``spent_s``: the stages already run; ``eval_images_s``: one model's evaluation images (the base's,
    timed); ``models_to_evaluate``: trained models still to generate them; ``later_feedback_s``: the
    feedback and curation stages of later rounds (each about as long as round 1's).

    Worked example: a 10-minute target, 200 s spent, 30 s per model's images, 2 trained models and a
    30 s reserve leave 600 - 200 - 60 - 30 = 310 s, i.e. 5.17 minutes.
    """
    left_s = target_minutes * 60 - spent_s - eval_images_s * models_to_evaluate - later_feedback_s - reserve_s
    minutes = left_s / 60
    if minutes < MIN_TRAIN_MINUTES:
        return TrainingPlan(MIN_TRAIN_MINUTES, fits=False)
    return TrainingPlan(minutes, fits=True)
