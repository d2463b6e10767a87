"""Pure statistics on hand-worked inputs: outcomes, win rates, bootstrap intervals, median selection, spread."""

from __future__ import annotations

import numpy as np
import pytest

from diffusion_dro.errors import InputError
from diffusion_dro.evaluate import bootstrap_ci, compare, median_index, outcomes, win_rate
from diffusion_dro.evaluate.analysis import compare_models, examples
from diffusion_dro.evaluate.diversity import seed_spread
from diffusion_dro.evaluate.stats import mean_std, take_per_row


def test_outcomes_and_win_rate_count_ties_half():
    a, b = np.array([3.0, 2.0, 1.0, 5.0]), np.array([1.0, 2.0, 3.0, 4.0])
    assert outcomes(a, b).tolist() == [1.0, 0.5, 0.0, 1.0]
    assert win_rate(a, b) == pytest.approx((1 + 0.5 + 0 + 1) / 4)  # 0.625
    assert win_rate(b, a) == pytest.approx(1 - 0.625)
    assert win_rate(a, a) == 0.5  # a model against itself: all ties
    # With a margin of 1, 5 vs 4 (difference 1) becomes a tie; 3 vs 1 (difference 2) stays a win.
    assert outcomes(a, b, tie_margin=1.0).tolist() == [1.0, 0.5, 0.0, 0.5]


def test_outcomes_reject_mismatched_shapes_and_negative_margin():
    with pytest.raises(InputError, match="one shape"):
        outcomes(np.zeros(3), np.zeros(4))
    with pytest.raises(InputError, match="--tie-margin"):
        outcomes(np.zeros(3), np.zeros(3), tie_margin=-1)
    with pytest.raises(InputError, match="at least one pair"):
        win_rate(np.zeros(0), np.zeros(0))


def test_bootstrap_of_two_units_covers_both_extremes():
    # Units 0 and 1: a resample of two is {0,0}, {0,1}/{1,0} or {1,1} with prob 1/4, 1/2, 1/4, so its mean is
    # 0, 0.5 or 1. The 2.5% and 97.5% quantiles of many resamples are therefore 0 and 1.
    assert bootstrap_ci(np.array([0.0, 1.0]), samples=4000, seed=0) == (0.0, 1.0)
    # A 40% interval sits inside the middle half, where every resample mean is 0.5.
    assert bootstrap_ci(np.array([0.0, 1.0]), samples=4000, seed=0, level=0.4) == (0.5, 0.5)


def test_bootstrap_degenerate_and_reproducible():
    assert bootstrap_ci(np.full(7, 0.5)) == (0.5, 0.5)
    values = np.random.default_rng(1).random(50)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    lo, hi = bootstrap_ci(values, samples=4000)
    assert lo < values.mean() < hi
    # The interval of the mean of 50 uniforms is about +-1.96 * 0.29 / sqrt(50) = +-0.08 wide.
    assert 0.12 < hi - lo < 0.2
    with pytest.raises(InputError, match="--bootstrap"):
        bootstrap_ci(values, samples=0)
    with pytest.raises(InputError, match="--confidence"):
        bootstrap_ci(values, level=1.0)


def test_compare_resamples_prompts_with_their_seeds():
    # Prompt 0: A wins both seeds; prompt 1: one win, one tie; prompt 2: A loses both.
    a = np.array([[2.0, 2.0], [2.0, 1.0], [0.0, 0.0]])
    b = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    r = compare(a, b, samples=3000, seed=0)
    assert (r.wins, r.ties, r.losses, r.pairs, r.prompts) == (3, 1, 2, 6, 3)
    assert r.win_rate == pytest.approx(3.5 / 6)
    # Per-prompt means are 1, 0.75, 0: resample means range over [0, 1] and the interval spans most of it.
    assert r.ci_low <= 0.1 and r.ci_high >= 0.9
    back = compare(b, a, samples=3000, seed=0)
    assert back.win_rate == pytest.approx(1 - r.win_rate)
    assert (back.ci_low, back.ci_high) == pytest.approx((1 - r.ci_high, 1 - r.ci_low))


def test_median_index_picks_the_lower_median_stably():
    scores = np.array([[0.3, 0.1, 0.2], [5.0, 5.0, 5.0], [4.0, 1.0, 3.0]])
    assert median_index(scores).tolist() == [2, 1, 2]  # ties keep seed order: sorted 0,1,2 -> middle is 1
    assert median_index(np.array([[4.0, 1.0, 3.0, 2.0]])).tolist() == [3]  # 1,2,3,4: lower median 2 at column 3
    assert median_index(np.array([[7.0]])).tolist() == [0]
    assert take_per_row(scores, np.array([2, 1, 0])).tolist() == [0.2, 5.0, 4.0]
    with pytest.raises(InputError, match="prompts, seeds"):
        median_index(np.zeros(3))


def test_mean_std_uses_sample_std():
    assert mean_std(np.array([1.0, 3.0])) == {"mean": 2.0, "std": pytest.approx(np.sqrt(2)), "n": 2}
    assert mean_std(np.array([4.0])) == {"mean": 4.0, "std": 0.0, "n": 1}


def test_compare_models_median_protocol_by_hand():
    # Selection scores pick, per prompt, seed column: A -> [1, 0], B -> [0, 2].
    selection = {"A": np.array([[0.0, 5.0, 9.0], [3.0, 1.0, 7.0]]), "B": np.array([[2.0, 1.0, 3.0], [0.0, 9.0, 4.0]])}
    quality = {"A": np.array([[0.0, 1.0, 0.0], [5.0, 0.0, 0.0]]), "B": np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])}
    out = compare_models({"q": quality}, ["A", "B"], selection, [None, None], [10, 11, 12], ["per-seed", "median"],
                         samples=200)
    assert out["median"]["selected_seeds"] == {"A": [11, 10], "B": [10, 12]}
    # Picked quality: A [1, 5] vs B [2, 5] -> a loss and a tie.
    assert out["median"]["win_rates"]["q"]["A"]["B"]["win_rate"] == pytest.approx(0.25)
    assert out["median"]["means"]["q"]["A"]["mean"] == pytest.approx(3.0)
    # Per seed: A vs B pairs: (0,2) L, (1,0) W, (0,0) T, (5,0) W, (0,0) T, (0,5) L -> (2 + 1) / 6.
    assert out["per-seed"]["win_rates"]["q"]["A"]["B"]["win_rate"] == pytest.approx(0.5)


def test_compare_models_by_group():
    a, b = np.array([[1.0], [1.0], [0.0]]), np.array([[0.0], [0.0], [1.0]])
    out = compare_models({"q": {"A": a, "B": b}}, ["A", "B"], {"A": a, "B": b}, ["x", "x", "y"], [0], ["per-seed"],
                         samples=100)
    groups = out["per-seed"]["by_group"]
    assert groups["x"]["q"]["A"]["B"]["win_rate"] == 1.0 and groups["y"]["q"]["A"]["B"]["win_rate"] == 0.0


def test_examples_sort_biggest_wins_and_losses():
    ref = np.array([[0.0, 0.0], [0.0, 0.0]])
    new = np.array([[0.5, -2.0], [3.0, 0.0]])
    files = {m: [[f"{m}/{p}{s}" for s in range(2)] for p in range(2)] for m in ("r", "n")}
    (ex,) = examples({"q": {"r": ref, "n": new}}, ["r", "n"], "q", ["p0", "p1"], [5, 6], files, count=5)
    assert [(x["prompt"], x["seed"], x["difference"]) for x in ex["wins"]] == [("p1", 5, 3.0), ("p0", 5, 0.5)]
    assert [(x["prompt"], x["seed"]) for x in ex["losses"]] == [("p0", 6)]
    assert ex["tied_pairs"] == 1 and ex["wins"][0]["files"] == {"r": "r/10", "n": "n/10"}


def test_seed_spread_entropy_and_distinct():
    labels = np.array([[0, 0, 0, 0], [0, 1, 0, 1], [0, 1, 2, 2], [0, 1, 2, 0]])
    entropy, distinct = seed_spread(labels, 3)
    # Shares (1), (1/2, 1/2), (1/4, 1/4, 1/2), (1/2, 1/4, 1/4): 0, 1, 1.5 and 1.5 bits.
    assert entropy.tolist() == pytest.approx([0.0, 1.0, 1.5, 1.5])
    assert distinct.tolist() == [1, 2, 3, 3]
