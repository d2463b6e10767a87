"""The demo's own report sections: image grids, training curves, feedback statistics.

They are added to ``dro eval``'s report.html (``evaluate.write_report``'s extra
sections); everything else in the report (win-rate table with CIs, histograms,
biggest wins and losses) is the evaluation's own.
"""

from __future__ import annotations

import html
from pathlib import Path

from diffusion_dro.evaluate import ReportSection
from diffusion_dro.train.metrics_log import read_metrics

GRID_PROMPTS = 8
GRID_SEEDS = 2


def image_grid(results: dict, models: list[str]) -> ReportSection:
    """The same held-out prompts and seeds side by side, one column per model (images from the evaluation)."""
    prompts = results["prompts"]["items"][:GRID_PROMPTS]
    seeds = results["seeds"][:GRID_SEEDS]
    pattern = results["images"]["pattern"]
    head = "".join(f"<th>{html.escape(m)}<br><small>seed {s}</small></th>" for s in seeds for m in models)
    rows = []
    for p in prompts:
        cells = "".join(
            f'<td><img class="px" src="{html.escape(pattern.format(model=m, prompt_index=p["index"], seed=s))}" '
            f'alt="{html.escape(m)} seed {s}"></td>' for s in seeds for m in models)
        rows.append(f"<tr><th class='prompt'>{html.escape(p['text'])}</th>{cells}</tr>")
    style = ("<style>.grid img.px{width:96px;height:96px;image-rendering:pixelated;border-radius:4px}"
             ".grid th.prompt{text-align:right;font-weight:normal;max-width:14em}.grid td{padding:2px}</style>")
    return ReportSection(
        "Same prompts, same seeds",
        f"{style}<p>Held-out prompts (colour and shape pairs never seen in training), identical seeds for every "
        f"model.</p><table class='grid'><tr><th></th>{head}</tr>{''.join(rows)}</table>")


def _joined(runs: list[Path]) -> tuple[list[dict], list[float]]:
    """Metrics of consecutive rounds' runs as one curve (updates and minutes carried on); round starts in minutes."""
    rows, starts, update0, t0 = [], [], 0, 0.0
    for run in runs:
        part = read_metrics(run)
        starts.append(t0 / 60)
        rows += [{**r, "update": r["update"] + update0, "elapsed_s": r["elapsed_s"] + t0} for r in part]
        if part:
            update0, t0 = rows[-1]["update"], rows[-1]["elapsed_s"]
    return rows, starts


def training_curves(runs: dict[str, list[Path]], out: Path) -> ReportSection:
    """Expert denoising loss relative to the reference (and DRO's hinge) against wall time, per method,
    across the rounds (each round's run continues the previous round's adapter)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    joined = {name: _joined(r) for name, r in runs.items()}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, (rows, starts) in joined.items():
        if not rows:
            continue
        t = [r["elapsed_s"] / 60 for r in rows]
        axes[0].plot(t, _smooth([r["loss_e"] for r in rows]), label=name)
        if "active" in rows[0]:  # DRO; diff is not known for every pair with lazy negatives, L_e - L_e0 is
            axes[1].plot(t, _smooth([r["loss_e"] - r["loss_e_ref"] for r in rows]), label=f"{name}: L_e - L_e0")
            axes[1].plot(t, _smooth([r["active"] for r in rows]), label=f"{name}: active hinges", linestyle="--")
    rounds = max((len(s) for _, s in joined.values()), default=1)
    for start in next(iter(joined.values()), ([], []))[1][1:]:
        for ax in axes:
            ax.axvline(start, color="grey", linewidth=0.8, linestyle=":")
    axes[0].set(title="expert denoising loss (smoothed)", xlabel="training minutes", yscale="log")
    axes[1].set(title="DRO: expert loss vs reference, share of active hinges", xlabel="training minutes")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "training_curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    lines = []
    for name, (rows, _) in joined.items():
        if rows:
            last = rows[-1]
            lines.append(f"<li><b>{html.escape(name)}</b>: {last['update']} updates in {last['elapsed_s'] / 60:.1f} "
                         f"min over {rounds} round(s), {last['update'] / max(last['elapsed_s'], 1e-9):.1f} "
                         "updates/s</li>")
    caption = "From each run's metrics.jsonl (moving average over 25 updates)"
    caption += "; dotted lines: a new round starts, on the experts curated from the last round's DRO model." \
        if rounds > 1 else "."
    return ReportSection("Training", f"<ul>{''.join(lines)}</ul>", images=[path], captions=[caption])


def _smooth(values: list[float], window: int = 25) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v - (values[i - window] if i >= window else 0.0)
        out.append(acc / min(i + 1, window))
    return out


def feedback_section(rounds: list[dict]) -> ReportSection:
    """One column per round: what the simulated users saw and did, and what curation kept."""
    def row(label: str, get) -> str:
        cells = "".join(f"<td>{html.escape(str(get(x)))}</td>" for x in rounds)
        return f"<tr><td>{html.escape(label)}</td>{cells}</tr>"

    events = sorted({k for x in rounds for k in x["feedback"]["stats"]["events"]})
    rows = [row("model shown", lambda x: "toy base" if x["round"] == 1 else f"round {x['round'] - 1} DRO"),
            row("simulated users", lambda x: x["feedback"]["users"]),
            row("image sets shown", lambda x: x["feedback"]["impressions"]),
            row("images generated", lambda x: x["feedback"]["images"]),
            *(row(f"events: {k}", lambda x, k=k: x["feedback"]["stats"]["events"].get(k, 0)) for k in events),
            row("images scored by curation", lambda x: x["curated"]["scored_images"]),
            row("expert images curated", lambda x: x["curated"]["expert"]),
            row("preference pairs (for DPO)", lambda x: x["curated"]["pairs"]),
            row("mean true taste of the images shown", lambda x: f"{x['feedback']['mean_true_taste_shown']:.2f}"),
            row("mean true taste of the curated experts", lambda x: f"{x['expert_taste']:.2f}"),
            row("updates (DRO / SFT)", lambda x: " / ".join(str(v) for v in x["updates"].values()))]
    head = "".join(f"<th>round {x['round']}</th>" for x in rounds)
    return ReportSection(
        "Feedback and curation",
        "<p>Each round, simulated users saw the served model's images through the feedback API and picked, "
        "dwelt on, downloaded or regenerated them; <code>dro curate</code> turned the events into that round's "
        "expert set. Round 1 serves the base; each later round the previous round's DRO model, and both "
        "methods continue training on what users chose from it. The true taste is the simulated users' own "
        "score, which curation never sees.</p>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>")
