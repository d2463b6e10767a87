"""``dro demo``: each stage is an ordinary command's Python API, run in order, each resumable.

    OUT/round-N/feedback/   the round's feedback store (SQLite + images), simulation.json  (dro serve --api-only)
    OUT/round-N/curated/    expert/, pairs.jsonl, labels.jsonl, summary.json             (dro curate)
    OUT/round-N/train/dro/, sft/   run folders with final/, trained side by side         (dro train)
    OUT/round-N/train/<method>.json, .log   each process's resolved options and output
    OUT/eval/       images/, results.json, report.html                                   (dro eval)
    OUT/report.html a pointer to eval/report.html;  OUT/demo.json  stage times, rounds and the table

Round 1 shows the base's images; round N > 1 serves round N-1's DRO adapter to the same
simulated users, curates their feedback on it, and both methods continue from their
round N-1 adapters (``dro train --init-adapter``) on those experts: the loop the product
runs, with SFT trained on exactly the data DRO is, so the comparison isolates the objective.

A stage whose output is complete is skipped on a re-run; training resumes from its
newest checkpoint (``dro train --resume``) and evaluation reuses generated images.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from diffusion_dro.demo.config import DemoConfig
from diffusion_dro.errors import InputError

ROUND_STAGES = ("feedback", "curate", "train")
# Options a resumed demo may change: they do not alter any finished stage's output.
RESUMABLE = {"out", "minutes", "target_minutes", "skip_baseline", "eval_seeds", "overwrite", "progress"}


class _Log:
    """Stage headers, one-line summaries and stage times accumulated across resumes in ``demo.json``."""

    def __init__(self, out: Path, total: int):
        self.path, self.total, self.n = out / "demo.json", total, 0
        self.state = json.loads(self.path.read_text()) if self.path.is_file() else {"stage_seconds": {}}

    def stage(self, name: str, what: str) -> float:
        self.n += 1
        print(f"\n[{self.n}/{self.total}] {name}: {what}", flush=True)
        return time.monotonic()

    def done(self, name: str, started: float, summary: str) -> None:
        spent = self.state["stage_seconds"].get(name, 0.0) + time.monotonic() - started
        self.state["stage_seconds"][name] = round(spent, 1)
        self.save()
        print(f"      {summary}  ({spent:.0f} s)", flush=True)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.path)


def _expert_taste(expert_dir: Path, taste: str | None) -> float:
    """Mean true taste of the curated experts, read by the toy judge."""
    from diffusion_dro.data.expert_read import load_expert_images, read_expert_set
    from diffusion_dro.score.toy import load_toy_taste

    items = read_expert_set(expert_dir)
    images = load_expert_images(items, 32)
    scorer = load_toy_taste(taste=taste)
    return float(scorer.score_batch((images + 1) / 2, [i.prompt for i in items]).mean())


def table_lines(results: dict, names: list[str]) -> list[str]:
    per_seed = results["protocols"]["per-seed"]
    means, wins = per_seed["means"], per_seed["win_rates"]
    lines = [f"{'model':<6} {'win vs base (taste) [95% CI]':<30} {'mean taste':>10} {'adherence':>10}"]
    for m in names:
        if m == "base":
            w = "-"
        else:
            e = wins["toy-taste"][m]["base"]
            w = f"{100 * e['win_rate']:.1f}% [{100 * e['ci_low']:.1f}, {100 * e['ci_high']:.1f}]"
        lines.append(f"{m:<6} {w:<30} {means['toy-taste'][m]['mean']:>10.3f} "
                     f"{100 * means['toy-adherence'][m]['mean']:>9.1f}%")
    return lines


def _collect(cfg: DemoConfig, log: _Log, r: int, served: Path | None) -> tuple[dict, dict, float]:
    """Stages 1-3 of round ``r``: feedback on the served model (the base, or the last round's DRO adapter) and
    curation; returns the feedback and curation summaries and the experts' mean true taste."""
    from diffusion_dro.demo.feedback_stage import APP, collect_feedback
    from diffusion_dro.feedback.curate_command import CurateConfig, run_curate

    folder = Path(cfg.out) / f"round-{r}"
    who = "the base's" if served is None else f"round {r - 1}'s DRO model's"
    t = log.stage(f"round {r} feedback", f"{cfg.users} simulated users react to {cfg.impressions} sets of "
                  f"{cfg.set_size} of {who} images through the feedback API")
    fb = collect_feedback(cfg, folder / "feedback", r, None if served is None else str(served))
    log.done(f"round {r} feedback", t, f"{fb['images']} images (mean true taste {fb['mean_true_taste_shown']:.2f}), "
             f"actions {fb['actions']}, store {folder / 'feedback'}")

    kept = ", of those a user downloaded," if cfg.kept_only else ""
    t = log.stage(f"round {r} curate", f"the top {100 * cfg.top_fraction:g}% of shown images by feedback{kept} "
                  "become experts")
    curated_dir = folder / "curated"
    if not (curated_dir / "summary.json").is_file():
        run_curate(CurateConfig(data_root=str(folder / "feedback"), out_dir=str(curated_dir), app=APP,
                                top_fraction=cfg.top_fraction, kept_only=cfg.kept_only, overwrite=True))
    curated = json.loads((curated_dir / "summary.json").read_text())
    expert_taste = _expert_taste(curated_dir / "expert", cfg.taste)
    log.done(f"round {r} curate", t, f"{curated['expert']} experts (mean true taste {expert_taste:.2f} vs "
             f"{fb['mean_true_taste_shown']:.2f} shown), {curated['pairs']} pairs")
    return fb, curated, expert_taste


def _train(cfg: DemoConfig, log: _Log, r: int, methods: list[str], init: dict[str, Path] | None,
           minutes: float, why: str) -> tuple[dict[str, Path], dict[str, int]]:
    """Stage 4 of round ``r``: every method side by side for ``minutes``, each from its ``init`` adapter."""
    from diffusion_dro.demo.training_stage import train_configs, train_side_by_side

    folder = Path(cfg.out) / f"round-{r}"
    side = "DRO" if cfg.skip_baseline else "DRO and SFT side by side"
    start = "the toy base" if init is None else f"their round {r - 1} adapters"
    t = log.stage(f"round {r} train", f"{side} from {start} for {minutes:.2f} min{why} (LoRA r={cfg.lora_rank})")
    configs = train_configs(cfg, folder / "curated" / "expert", folder / "train", methods, minutes, init)
    train_side_by_side(configs, folder / "train", cfg.progress)
    runs = {m: Path(c.out) for m, c in configs.items()}
    updates = {m: json.loads((runs[m] / "final" / "training_summary.json").read_text())["updates"] for m in methods}
    log.done(f"round {r} train", t, ", ".join(f"{m.upper()} {n} updates" for m, n in updates.items())
             + f" -> {folder / 'train'}")
    return runs, updates


def _eval_config(cfg: DemoConfig, finals: dict[str, Path]):
    from diffusion_dro.evaluate import EvalConfig

    return EvalConfig(
        out=str(Path(cfg.out) / "eval"), model=["base=toy", *(f"{m}=toy,{p}" for m, p in finals.items())],
        prompts="toy:heldout", seeds=cfg.eval_seeds, scorers="toy-taste,toy-adherence", taste=cfg.taste,
        progress=cfg.progress,
        title="dro demo: base vs SFT vs DRO on the toy world" if "sft" in finals else "dro demo: base vs DRO")


def _base_images(cfg: DemoConfig, log: _Log) -> float:
    """The base's evaluation images, made before training (they do not depend on it); returns what one model's
    images cost, the measure of the evaluation still to come."""
    from diffusion_dro.evaluate import generate_eval_images

    t = log.stage("base images", f"the base's evaluation images (16 held-out prompts x {cfg.eval_seeds} seeds), "
                  "timed to plan training")
    (base,) = generate_eval_images(_eval_config(cfg, {}))
    total = base.generated + base.reused
    if base.generated:
        log.state["eval_images_s"] = round(base.seconds * total / base.generated, 1)
    per_model = log.state.get("eval_images_s", base.seconds)
    log.done("base images", t, f"{total} images, {per_model:.0f} s per model")
    return per_model


def _training_minutes(cfg: DemoConfig, log: _Log, eval_images_s: float, models: int) -> tuple[float, str]:
    """All rounds' training minutes: ``--minutes``, else the plan made (once) when training first started."""
    from diffusion_dro.demo.budget import plan_training

    if cfg.minutes is not None:
        return cfg.minutes, ""
    if "training_plan" not in log.state:
        spent = sum(log.state["stage_seconds"].values())
        later = sum(v for k, v in log.state["stage_seconds"].items() if k.startswith("round 1 ")) * (cfg.rounds - 1)
        plan = plan_training(cfg.target_minutes, spent, eval_images_s, models, later)
        log.state["training_plan"] = {"minutes": round(plan.minutes, 3), "fits": plan.fits,
                                      "target_minutes": cfg.target_minutes, "spent_s": round(spent, 1),
                                      "eval_images_s": round(eval_images_s, 1), "later_feedback_s": round(later, 1)}
        log.save()
        if not plan.fits:
            print(f"      note: on this machine the other stages leave less than {plan.minutes:g} min of the "
                  f"{cfg.target_minutes:g}-minute target; training gets {plan.minutes:g} min and the demo runs "
                  "over. Pass a larger --target-minutes, or --minutes.", flush=True)
    plan = log.state["training_plan"]
    return plan["minutes"], f" (what the {plan['target_minutes']:g}-minute target leaves)"


def run_demo(cfg: DemoConfig) -> dict:
    from diffusion_dro.demo.report import feedback_section, image_grid, training_curves
    from diffusion_dro.evaluate import run_eval, write_report

    out = Path(cfg.out)
    if out.exists() and cfg.overwrite:
        shutil.rmtree(out)
    if out.exists() and not (out / "demo.json").is_file():
        raise InputError(f"--out {out} exists but is not a demo folder; choose another folder.")
    out.mkdir(parents=True, exist_ok=True)
    methods = ["dro"] if cfg.skip_baseline else ["dro", "sft"]
    log = _Log(out, len(ROUND_STAGES) * cfg.rounds + 3)  # + base images, evaluate, report
    before = log.state.get("config", {})
    changed = sorted(k for k, v in vars(cfg).items() if k not in RESUMABLE and k in before and before[k] != v)
    if changed:
        diffs = ", ".join(f"--{k.replace('_', '-')} {before[k]!r} -> {getattr(cfg, k)!r}" for k in changed)
        raise InputError(f"--out {out} holds a demo run with other options ({diffs}); re-run with the same "
                         "options to resume, pass --overwrite to start over, or choose another --out.")
    log.state["config"] = vars(cfg)
    log.save()

    rounds: list[dict] = []
    minutes, why = 0.0, ""
    for r in range(1, cfg.rounds + 1):
        init = {m: rounds[-1]["runs"][m] / "final" for m in methods} if rounds else None
        fb, curated, expert_taste = _collect(cfg, log, r, None if init is None else init["dro"])
        if r == 1:
            minutes, why = _training_minutes(cfg, log, _base_images(cfg, log), len(methods))
        runs, updates = _train(cfg, log, r, methods, init, minutes / cfg.rounds, why)
        rounds.append({"round": r, "feedback": fb, "curated": curated, "expert_taste": expert_taste, "runs": runs,
                       "updates": updates})
    log.state["rounds"] = [{"round": x["round"], "images": x["feedback"]["images"],
                            "mean_true_taste_shown": round(x["feedback"]["mean_true_taste_shown"], 3),
                            "experts": x["curated"]["expert"], "expert_taste": round(x["expert_taste"], 3),
                            "updates": x["updates"]} for x in rounds]
    log.save()
    finals = {m: rounds[-1]["runs"][m] / "final" for m in methods}

    t = log.stage("evaluate", f"base vs {' vs '.join(methods)} on held-out prompts x {cfg.eval_seeds} seeds")
    names = ["base", *methods]
    results = run_eval(_eval_config(cfg, finals))
    log.done("evaluate", t, f"{len(results['prompts']['items'])} prompts x {len(results['seeds'])} seeds")

    t = log.stage("report", "image grids, training curves and feedback statistics")
    figures = out / "eval" / "demo-figures"
    figures.mkdir(exist_ok=True)
    sections = [image_grid(results, names),
                training_curves({m: [x["runs"][m] for x in rounds] for m in methods}, figures),
                feedback_section(rounds)]
    report = write_report(results, out / "eval", sections)
    (out / "report.html").write_text(
        '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=eval/report.html">'
        '<a href="eval/report.html">report</a>\n')
    lines = table_lines(results, names)
    log.state["table"] = lines
    log.done("report", t, str(report))

    print("\n" + "\n".join(lines))
    total = sum(log.state["stage_seconds"].values())
    print(f"\nstages (s): {json.dumps(log.state['stage_seconds'])}, total {total / 60:.1f} min")
    print(f"report: {report}")
    return {"results": results, "report": str(report), "table": lines, "stage_seconds": log.state["stage_seconds"]}
