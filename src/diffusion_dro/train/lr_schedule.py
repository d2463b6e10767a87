"""The learning-rate schedule: warm-up by updates, then a decay over the run's budget.

A run's budget is ``--max-steps`` updates and/or ``--max-minutes`` of training
time; ``progress`` is the fraction of it already spent, the larger of the two
fractions when both are set. So ``--lr-scheduler linear --max-minutes 4`` reaches
zero as the four minutes run out, which diffusers' step-counted schedules cannot do
when the number of updates is not known in advance.
"""

from __future__ import annotations

import math


def budget_progress(updates: int, elapsed_s: float, max_steps: int | None, max_minutes: float | None) -> float:
    """Fraction of the budget spent, in [0, 1]."""
    parts = [updates / max_steps if max_steps else 0.0, elapsed_s / (60 * max_minutes) if max_minutes else 0.0]
    return min(1.0, max(parts))


def lr_factor(kind: str, updates: int, warmup_updates: int, progress: float) -> float:
    """Multiplier of the peak learning rate for the update after ``updates`` finished ones.

    Worked example: ``linear``, warm-up 4, after 1 update at progress 0.5 gives
    (1 + 1) / 4 * (1 - 0.5) = 0.25; ``cosine`` at progress 0.5 gives 0.5.
    """
    warm = min(1.0, (updates + 1) / warmup_updates) if warmup_updates > 0 else 1.0
    if kind == "constant":
        return warm
    if kind == "linear":
        return warm * (1.0 - progress)
    if kind == "cosine":
        return warm * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown LR schedule {kind!r}")
