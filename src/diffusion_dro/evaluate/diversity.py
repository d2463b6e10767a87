"""Toy-world diversity: how varied the nuisance attributes are across the seeds of one prompt.

Prompts fix shape, colour and size; background, level, fill and offset are left to
the model. A model that collapses onto one look draws the same nuisance values for
every seed. The toy judge reads each image's most likely value of every nuisance
attribute; per prompt, the entropy (bits) and the number of distinct values across
its S seeds measure spread, averaged over prompts. The most an attribute with K
values can reach is ``log2(min(S, K))`` bits and ``min(S, K)`` distinct values.
"""

from __future__ import annotations

import math

import numpy as np

from diffusion_dro.evaluate.generation import ModelImages
from diffusion_dro.evaluate.scoring import iter_chunks


def seed_spread(labels: np.ndarray, num_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``labels`` (P, S) of ints in [0, K): entropy in bits of the row's values, and their distinct count.

    >>> h, d = seed_spread(np.array([[0, 0, 0, 0], [0, 1, 0, 1], [0, 1, 2, 2]]), 3)
    >>> h.round(3).tolist(), d.tolist()
    ([0.0, 1.0, 1.5], [1, 2, 3])
    """
    labels = np.asarray(labels)
    counts = np.stack([(labels == k).sum(axis=1) for k in range(num_values)], axis=1)  # (P, K)
    p = counts / labels.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=1), (counts > 0).sum(axis=1)


def judge_labels(model: ModelImages, prompts: list[str], judge) -> dict[str, np.ndarray]:
    """The judge's most likely value index of every attribute, each (P, S)."""
    parts: dict[str, list[np.ndarray]] = {}
    for images, _ in iter_chunks(model, prompts):
        for attr, probs in judge.probabilities(images * 2 - 1).items():
            parts.setdefault(attr, []).append(probs.argmax(-1).numpy())
    seeds = len(model.files[0])
    return {attr: np.concatenate(chunks).reshape(len(prompts), seeds) for attr, chunks in parts.items()}


def toy_diversity(models: list[ModelImages], prompts: list[str], judge=None) -> dict[str, dict]:
    """Per model: per nuisance attribute entropy/distinct (means over prompts) and the share of each value."""
    from diffusion_dro.toy.judge import load_judge
    from diffusion_dro.toy.world import ATTRIBUTES, NUISANCES

    judge = judge if judge is not None else load_judge()
    out: dict[str, dict] = {}
    for model in models:
        labels = judge_labels(model, prompts, judge)
        seeds = labels[NUISANCES[0]].shape[1]
        attrs, shares = {}, {}
        for attr in NUISANCES:
            k = len(ATTRIBUTES[attr])
            entropy, distinct = seed_spread(labels[attr], k)
            ceiling = math.log2(min(seeds, k))
            attrs[attr] = {
                "entropy_bits": float(entropy.mean()),
                "distinct": float(distinct.mean()),
                "max_entropy_bits": ceiling,
                "max_distinct": min(seeds, k),
                "normalised": float(entropy.mean() / ceiling) if ceiling > 0 else 0.0,
            }
            flat = labels[attr].reshape(-1)
            shares[attr] = {v: float((flat == i).mean()) for i, v in enumerate(ATTRIBUTES[attr])}
        out[model.spec.name] = {
            "attributes": attrs,
            "mean_entropy_bits": float(np.mean([a["entropy_bits"] for a in attrs.values()])),
            "mean_distinct": float(np.mean([a["distinct"] for a in attrs.values()])),
            "mean_normalised": float(np.mean([a["normalised"] for a in attrs.values()])),
            "shares": shares,
        }
    return out
