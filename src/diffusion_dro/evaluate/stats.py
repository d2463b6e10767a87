"""Pure statistics of paired comparisons: outcomes, win rates, bootstrap intervals, median selection.

Symbols: ``P`` prompts, ``S`` seeds per prompt. Scores of two models on the same
(prompt, seed) form a pair; a pair is a win (1), a tie (1/2) or a loss (0) for the
first model. The win rate is the mean outcome. Its confidence interval is a
percentile bootstrap over *prompts*: a resample draws ``P`` prompts with
replacement and takes all their seeds along, because images of one prompt are
correlated and the question is how a model does on prompts like these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from diffusion_dro.errors import InputError


def outcomes(a: np.ndarray, b: np.ndarray, tie_margin: float = 0.0) -> np.ndarray:
    """Per-pair outcome for ``a`` against ``b`` (same shape): 1 win, 0.5 tie (``|a - b| <= tie_margin``), 0 loss.

    >>> outcomes(np.array([3.0, 2.0, 1.0]), np.array([1.0, 2.0, 3.0])).tolist()
    [1.0, 0.5, 0.0]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise InputError(f"paired scores must have one shape; got {a.shape} and {b.shape}.")
    if tie_margin < 0:
        raise InputError(f"--tie-margin must be >= 0, got {tie_margin}.")
    diff = a - b
    return np.where(np.abs(diff) <= tie_margin, 0.5, (diff > 0).astype(np.float64))


def win_rate(a: np.ndarray, b: np.ndarray, tie_margin: float = 0.0) -> float:
    """Mean outcome of ``a`` against ``b``: wins count 1, ties 1/2."""
    o = outcomes(a, b, tie_margin)
    if o.size == 0:
        raise InputError("a win rate needs at least one pair of scores; got none.")
    return float(o.mean())


def bootstrap_ci(unit_values: np.ndarray, samples: int = 2000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``unit_values`` (P,), one value per resampling unit.

    Each of ``samples`` resamples draws P units with replacement; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the resampled means.
    The generator is seeded with ``seed`` alone, so every call with the same P draws
    the same resamples: intervals of A-vs-B and B-vs-A mirror each other exactly.
    """
    values = np.asarray(unit_values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise InputError("a bootstrap interval needs at least one unit; got none.")
    if samples < 1:
        raise InputError(f"--bootstrap must be a positive number of resamples, got {samples}.")
    if not 0 < level < 1:
        raise InputError(f"--confidence must lie strictly between 0 and 1, got {level}.")
    means = values[_resamples(values.size, samples, seed)].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@lru_cache(maxsize=4)
def _resamples(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) unit indices drawn with replacement; cached, as every interval of a run draws the same."""
    idx = np.random.default_rng(seed).integers(0, n, size=(samples, n))
    idx.setflags(write=False)
    return idx


@dataclass(frozen=True)
class WinRate:
    """One model's record against another on one scorer."""

    win_rate: float
    ci_low: float
    ci_high: float
    wins: int
    ties: int
    losses: int
    pairs: int
    prompts: int

    def to_dict(self) -> dict:
        return asdict(self)


def compare(a: np.ndarray, b: np.ndarray, samples: int = 2000, seed: int = 0, level: float = 0.95,
            tie_margin: float = 0.0) -> WinRate:
    """Win rate of ``a`` over ``b``, both (P, S) or (P,), with a bootstrap interval over the P prompts."""
    o = outcomes(a, b, tie_margin)
    if o.size == 0:
        raise InputError("a win rate needs at least one pair of scores; got none.")
    per_prompt = o.reshape(o.shape[0], -1).mean(axis=1)
    lo, hi = bootstrap_ci(per_prompt, samples, seed, level)
    return WinRate(
        win_rate=float(o.mean()), ci_low=lo, ci_high=hi,
        wins=int((o == 1).sum()), ties=int((o == 0.5).sum()), losses=int((o == 0).sum()),
        pairs=int(o.size), prompts=int(o.shape[0]),
    )


def median_index(scores: np.ndarray) -> np.ndarray:
    """Per row of ``scores`` (P, S), the column of its median: the lower median when S is even.

    Ties keep seed order (stable sort), so the choice is deterministic.

    >>> median_index(np.array([[0.3, 0.1, 0.2]])).tolist()  # 0.1 < 0.2 < 0.3: the median 0.2 is column 2
    [2]
    >>> median_index(np.array([[4.0, 1.0, 3.0, 2.0]])).tolist()  # lower median of 1, 2, 3, 4 is 2, column 3
    [3]
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise InputError(f"median selection needs scores of shape (prompts, seeds); got {scores.shape}.")
    order = np.argsort(scores, axis=1, kind="stable")
    return order[:, (scores.shape[1] - 1) // 2]


def take_per_row(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``values[p, columns[p]]`` for every row p: (P, S), (P,) -> (P,)."""
    return np.asarray(values)[np.arange(len(columns)), columns]


def mean_std(values: np.ndarray) -> dict[str, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of all entries."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise InputError("mean and std need at least one score; got none.")
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}
