"""From score arrays to the comparison part of results.json: both protocols, every ordered pair.

Protocols (``P`` prompts, ``S`` seeds; every model shares the seeds):

- ``per-seed``: each (prompt, seed) is a pair of images, one per model; P x S pairs.
- ``median`` (the paper's): per prompt and model, keep the image whose selection
  score is the median over its S seeds (the lower median when S is even), then
  compare those P images on every scorer.

Intervals come from :func:`diffusion_dro.evaluate.stats.compare` (bootstrap over prompts).
"""

from __future__ import annotations

import numpy as np

from diffusion_dro.evaluate.stats import compare, mean_std, median_index, take_per_row

Scores = dict[str, dict[str, np.ndarray]]  # scorer -> model -> (P, S)

DESCRIPTIONS = {
    "per-seed": "Every (prompt, seed) pair of images compared; ties count half.",
    "median": "Per prompt, each model's image with the median selection score over its seeds; ties count half.",
}


def _win_table(scores: Scores, models: list[str], rows: np.ndarray | slice, stats: dict) -> dict:
    """``{scorer: {model: {opponent: WinRate dict}}}`` over the prompt ``rows``."""
    table: dict = {}
    for scorer, by_model in scores.items():
        table[scorer] = {}
        for a in models:
            table[scorer][a] = {
                b: compare(by_model[a][rows], by_model[b][rows], **stats).to_dict() for b in models if b != a
            }
    return table


def _protocol(scores: Scores, models: list[str], groups: list[str | None], stats: dict) -> dict:
    section = {
        "means": {s: {m: mean_std(v) for m, v in by_model.items()} for s, by_model in scores.items()},
        "win_rates": _win_table(scores, models, slice(None), stats) if len(models) > 1 else {},
    }
    labels = sorted({g for g in groups if g is not None})
    if len(labels) > 1 and len(models) > 1:
        section["by_group"] = {
            g: _win_table(scores, models, np.array([x == g for x in groups]), stats) for g in labels
        }
    return section


def select_medians(selection: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per model, the seed column (P,) of each prompt's median image under the selection scores (P, S)."""
    return {m: median_index(v) for m, v in selection.items()}


def compare_models(
    scores: Scores,
    models: list[str],
    selection_scores: dict[str, np.ndarray],
    groups: list[str | None],
    seeds: list[int],
    protocols: list[str],
    *,
    samples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    tie_margin: float = 0.0,
) -> dict:
    """``{protocol: {"description", "means", "win_rates"[, "by_group"][, "selected_seeds"]}}``."""
    stats = {"samples": samples, "seed": seed, "level": level, "tie_margin": tie_margin}
    out: dict = {}
    if "per-seed" in protocols:
        out["per-seed"] = {"description": DESCRIPTIONS["per-seed"], **_protocol(scores, models, groups, stats)}
    if "median" in protocols:
        chosen = select_medians(selection_scores)
        picked = {s: {m: take_per_row(v, chosen[m])[:, None] for m, v in by_model.items()}
                  for s, by_model in scores.items()}
        out["median"] = {
            "description": DESCRIPTIONS["median"],
            **_protocol(picked, models, groups, stats),
            "selected_seeds": {m: [seeds[i] for i in chosen[m].tolist()] for m in models},
        }
    return out


def examples(
    scores: Scores,
    models: list[str],
    scorer: str,
    prompts: list[str],
    seeds: list[int],
    files: dict[str, list[list[str]]],
    count: int,
) -> list[dict]:
    """Per challenger (every model after the first) against the first: the biggest wins and losses on ``scorer``.

    Each row is one (prompt, seed) with every model's image file and scores, so the
    report can show the same prompt and seed side by side across all models.
    """
    if len(models) < 2:
        return []
    ref = models[0]

    def row(p: int, s: int, diff: float) -> dict:
        return {
            "prompt_index": p, "prompt": prompts[p], "seed": seeds[s], "difference": diff,
            "files": {m: files[m][p][s] for m in models},
            "scores": {m: {name: float(by_model[m][p, s]) for name, by_model in scores.items()} for m in models},
        }

    out = []
    for challenger in models[1:]:
        diff = scores[scorer][challenger] - scores[scorer][ref]
        order = np.argsort(-diff, axis=None, kind="stable")
        flat = [(int(i) // diff.shape[1], int(i) % diff.shape[1]) for i in order]
        wins = [row(p, s, float(diff[p, s])) for p, s in flat if diff[p, s] > 0][:count]
        losses = [row(p, s, float(diff[p, s])) for p, s in reversed(flat) if diff[p, s] < 0][:count]
        ties = int((diff == 0).sum())
        entry = {"challenger": challenger, "reference": ref, "scorer": scorer, "wins": wins, "losses": losses,
                 "tied_pairs": ties, "pairs": int(diff.size)}
        if not wins and not losses:
            entry["tied"] = [row(p, s, 0.0) for p, s in flat[:count]]
        out.append(entry)
    return out
