"""``run_eval``: prompts x models x seeds -> images, scores, statistics, results.json and report.html.

Steps, each in its own module: read the prompt set (``data.prompts``), generate or
reuse images (``generation``), score them (``scoring``), compare (``analysis`` on
``stats``), measure toy diversity (``diversity``), write ``results.json`` and render
``report.html`` (``report``).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from diffusion_dro.evaluate.config import EvalConfig
from diffusion_dro.evaluate.report import ReportSection, pairs, write_report

if TYPE_CHECKING:
    from diffusion_dro.data.prompts import PromptSet
    from diffusion_dro.evaluate.generation import ModelImages

RESULTS = "results.json"
SCHEMA_VERSION = 1
IMAGE_PATTERN = "images/{model}/p{prompt_index:05d}_s{seed}.png"


def _write_json(data: dict, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def summary_lines(results: dict) -> list[str]:
    """One line per (challenger, opponent, scorer) of the first protocol: win rate and interval."""
    models = [m["name"] for m in results["models"]]
    protocol = next(iter(results["protocols"]), None)
    if protocol is None or len(models) < 2:
        return []
    table = results["protocols"][protocol]["win_rates"]
    lines = [f"win rates ({protocol} protocol, {100 * results['bootstrap']['level']:.0f}% bootstrap CI):"]
    for a, b in pairs(models):
        for scorer in results["scorers"]:
            e = table[scorer][a][b]
            lines.append(f"  {a} vs {b}  {scorer:<16} {100 * e['win_rate']:5.1f}%  "
                         f"[{100 * e['ci_low']:5.1f}, {100 * e['ci_high']:5.1f}]  "
                         f"({e['wins']}W {e['ties']}T {e['losses']}L)")
    return lines


def _prompt_sets(config: EvalConfig) -> tuple[PromptSet, PromptSet, PromptSet]:
    """The source's prompts, those without duplicates, and of those the ``--max-prompts`` evaluated."""
    from diffusion_dro.data.prompts import load_prompt_set

    full = load_prompt_set(config.prompts)
    unique = full.unique()
    return full, unique, unique.head(config.max_prompts)


def generate_eval_images(config: EvalConfig, prompt_set: PromptSet | None = None) -> list[ModelImages]:
    """Only the images of the evaluation ``config`` describes (generated, or reused where they exist); a later
    ``run_eval`` of the same prompts, seeds and settings reuses them. Returns ``ModelImages`` per model.
    ``prompt_set``: the evaluated prompts when the caller has read them already."""
    from diffusion_dro.evaluate.generation import generate_images

    if prompt_set is None:
        prompt_set = _prompt_sets(config)[2]
    return generate_images(config.models, prompt_set.prompts, [config.first_seed + k for k in range(config.seeds)],
                           config.settings(), Path(config.out), batch_size=config.batch_size, device=config.device,
                           dtype=config.dtype, resolution=config.resolution, progress=config.progress)


def run_eval(config: EvalConfig, extra_sections: Sequence[ReportSection] = ()) -> dict:
    """Run the evaluation ``config`` describes; returns the results dict also written to ``OUT/results.json``."""
    import diffusion_dro.evaluate.plots  # noqa: F401  -- fail now, not after generating, without the report extra
    from diffusion_dro.evaluate.analysis import compare_models, examples
    from diffusion_dro.evaluate.diversity import toy_diversity
    from diffusion_dro.evaluate.scoring import score_images
    from diffusion_dro.sample.command import DTYPES, resolve_device

    start = time.perf_counter()
    full, unique, prompt_set = _prompt_sets(config)
    prompts, seeds = prompt_set.prompts, [config.first_seed + k for k in range(config.seeds)]
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [s.name for s in config.models]
    print(f"dro eval: {len(names)} models x {len(prompts)} prompts x {len(seeds)} seeds -> {out}")

    images = generate_eval_images(config, prompt_set)
    generation_s = time.perf_counter() - start

    t = time.perf_counter()
    selection = config.selection_name
    to_score = config.scorer_names + ([selection] if selection not in config.scorer_names else [])
    scores = score_images(images, prompts, to_score, sources=config.sources, taste=config.taste,
                          device=resolve_device(config.device), dtype=DTYPES[config.dtype], progress=config.progress)
    compared = {s: scores[s] for s in config.scorer_names}
    protocols = compare_models(compared, names, scores[selection], prompt_set.groups, seeds, config.protocols,
                               samples=config.bootstrap, seed=config.seed, level=config.confidence,
                               tie_margin=config.tie_margin)
    scoring_s = time.perf_counter() - t

    t = time.perf_counter()
    diversity = toy_diversity(images, prompts) if all(m.kind == "toy" for m in images) else None
    diversity_s = time.perf_counter() - t
    files = {m.spec.name: [[f.relative_to(out).as_posix() for f in row] for row in m.files] for m in images}

    results = {
        "schema_version": SCHEMA_VERSION,
        "title": config.title,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "models": [{"name": m.spec.name, "model": m.spec.model, "adapter": m.spec.adapter, "kind": m.kind,
                    "size": m.size, "fingerprint": m.fingerprint, "generated": m.generated, "reused": m.reused}
                   for m in images],
        "prompts": {"source": config.prompts, "count": len(prompts), "in_source": len(full),
                    "duplicates_dropped": len(full) - len(unique),
                    "items": [{"index": i, "text": p, "group": g} for i, (p, g) in
                              enumerate(zip(prompts, prompt_set.groups))]},
        "seeds": seeds,
        "settings": {**vars(config.settings()), "resolution": config.resolution, "size": images[0].size,
                     "dtype": config.dtype, "device": str(resolve_device(config.device))},
        "scorers": config.scorer_names,
        "excluded_scorers": config.excluded_scorers,
        "selection_scorer": selection,
        "bootstrap": {"samples": config.bootstrap, "seed": config.seed, "level": config.confidence,
                      "unit": "prompt", "method": "percentile", "tie_margin": config.tie_margin},
        "protocols": protocols,
        "scores": {s: {m: v.tolist() for m, v in by_model.items()} for s, by_model in scores.items()},
        "diversity": diversity,
        "examples": examples(scores, names, selection, prompts, seeds, files, config.examples),
        "images": {"pattern": IMAGE_PATTERN, "metadata": "images/{model}/metadata.jsonl"},
        "timing": {"generation_s": generation_s, "scoring_s": scoring_s, "diversity_s": diversity_s,
                   "images_generated": sum(m.generated for m in images),
                   "images_reused": sum(m.reused for m in images)},
        "environment": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                        "python": platform.python_version(), "machine": platform.machine()},
    }
    t = time.perf_counter()
    report = write_report(results, out, extra_sections)
    results["timing"]["report_s"] = time.perf_counter() - t
    results["timing"]["total_s"] = time.perf_counter() - start
    _write_json(results, out / RESULTS)
    for line in summary_lines(results):
        print(line)
    print(f"wrote {out / RESULTS} and {report}")
    return results
