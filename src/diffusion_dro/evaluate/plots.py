"""Matplotlib figures of the report: per-scorer score distributions and toy nuisance shares.

Figures use the object API (``matplotlib.figure.Figure``), never pyplot, so no
global backend or window state is touched. matplotlib comes with the ``report``
extra; importing this module without it raises an ImportError saying so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

try:
    from matplotlib.figure import Figure
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("dro eval draws its plots with matplotlib: pip install 'diffusion-dro[report]'.") from e

# One colour per model, in --model order; the HTML uses the same list.
MODEL_COLOURS = ("#3b6fb6", "#e07b39", "#3f9e5a", "#c4454d", "#7b62b8", "#8c6d4f", "#d16fb0", "#6f7782")


def colour(i: int) -> str:
    return MODEL_COLOURS[i % len(MODEL_COLOURS)]


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9aa3ad")
    ax.spines["bottom"].set_color("#9aa3ad")
    ax.tick_params(colors="#4a5360", labelsize=8)
    ax.grid(axis="y", color="#e6e9ed", linewidth=0.8)
    ax.set_axisbelow(True)


def score_distribution(scorer: str, by_model: dict[str, np.ndarray], path: Path) -> Path:
    """Histogram of every model's scores on one scorer, means marked; written as PNG to ``path``."""
    fig = Figure(figsize=(5.6, 3.0), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    values = {m: np.asarray(v, dtype=float).reshape(-1) for m, v in by_model.items()}
    everything = np.concatenate(list(values.values()))
    lo, hi = float(everything.min()), float(everything.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 31)
    for i, (model, v) in enumerate(values.items()):
        ax.hist(v, bins=bins, histtype="stepfilled", alpha=0.18, color=colour(i))
        ax.hist(v, bins=bins, histtype="step", linewidth=1.6, color=colour(i), label=f"{model} (mean {v.mean():.3g})")
        ax.axvline(v.mean(), color=colour(i), linestyle="--", linewidth=1.1)
    _style(ax)
    ax.set_xlabel(f"{scorer} score (higher is better)", fontsize=9, color="#27303b")
    ax.set_ylabel("images", fontsize=9, color="#27303b")
    ax.legend(frameon=False, fontsize=8)
    fig.savefig(path)
    return path


def nuisance_shares(diversity: dict[str, dict], path: Path) -> Path:
    """Stacked bars: for each nuisance attribute, the share of each value the judge reads, per model."""
    models = list(diversity)
    attrs = list(next(iter(diversity.values()))["shares"])
    fig = Figure(figsize=(7.2, 0.55 * len(models) * len(attrs) + 0.9), dpi=110, layout="constrained")
    axes = fig.subplots(len(attrs), 1, sharex=True)
    palette = ("#5b8bd0", "#f2a65a", "#7cc08d", "#d96a6a", "#a892d6")
    for ax, attr in zip(np.atleast_1d(axes), attrs):
        values = list(diversity[models[0]]["shares"][attr])
        left = np.zeros(len(models))
        for k, value in enumerate(values):
            widths = np.array([diversity[m]["shares"][attr][value] for m in models])
            ax.barh(models, widths, left=left, color=palette[k % len(palette)], edgecolor="white", height=0.7,
                    label=value)
            for y, (x0, w) in enumerate(zip(left, widths)):
                if w >= 0.12:
                    ax.text(x0 + w / 2, y, f"{value} {w:.0%}", ha="center", va="center", fontsize=7, color="#1d242c")
            left += widths
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_title(attr, fontsize=9, loc="left", color="#27303b")
        ax.tick_params(labelsize=8, colors="#4a5360")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    np.atleast_1d(axes)[-1].set_xlabel("share of images", fontsize=9, color="#27303b")
    fig.savefig(path)
    return path
