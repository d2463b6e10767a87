"""Toy-world training benchmark: DRO, SFT and DRO with ``--preset reference`` at the same wall clock.

Builds the default expert set (``dro toy experts``), trains each method from the
shipped base for ``--minutes`` in its own process (peak RSS from ``wait4``), then
evaluates base and the three on the held-out prompts with identical seeds
(``dro eval``'s ``run_eval``: toy-taste and toy-adherence, bootstrap CIs). Runs that
already finished are reused, so an interrupted benchmark resumes.

    PYTHONPATH=src python benchmarks/train_toy.py --minutes 5 --out runs/bench-train
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

METHODS: dict[str, list[str]] = {
    "dro": ["--objective", "dro"],
    "sft": ["--objective", "sft"],
    "dro-reference": ["--objective", "dro", "--preset", "reference"],
}


def dro(*args: str) -> list[str]:
    return [sys.executable, "-m", "diffusion_dro.cli.main", *args]


def train(name: str, extra: list[str], experts: Path, out: Path, minutes: float) -> dict:
    run = out / name
    if not (run / "final").is_dir():
        cmd = dro("train", "--experts", str(experts), "--out", str(run), "--max-minutes", str(minutes),
                  "--no-progress", "--resume", *extra)
        proc = subprocess.Popen(cmd)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{name} failed: {' '.join(cmd)}")
        (run / "peak_rss.json").write_text(json.dumps({"peak_rss_mib": usage.ru_maxrss / 1024}))
    summary = json.loads((run / "final" / "training_summary.json").read_text())
    return {"updates": summary["updates"], "minutes": summary["elapsed_s"] / 60,
            "pairs_per_s": summary["pairs_seen"] / summary["elapsed_s"], "sampler_forwards": summary["sampler_forwards"],
            "peak_rss_mib": json.loads((run / "peak_rss.json").read_text())["peak_rss_mib"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--out", default="runs/bench-train")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    out = Path(args.out)
    experts = out / "experts"
    if not experts.is_dir():
        subprocess.run(dro("toy", "experts", "--out", str(experts)), check=True)
    training = {m: train(m, METHODS[m], experts, out, args.minutes) for m in args.methods.split(",")}

    from diffusion_dro.evaluate import EvalConfig, run_eval

    started = time.monotonic()
    results = run_eval(EvalConfig(
        out=str(out / "eval"), model=["base=toy", *(f"{m}=toy,{out / m / 'final'}" for m in training)],
        prompts="toy:heldout", seeds=args.seeds, scorers="toy-taste,toy-adherence", protocol="per-seed",
        title="Toy training benchmark"))
    eval_s = time.monotonic() - started
    table = results["protocols"]["per-seed"]
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, {args.minutes} min per method, eval {eval_s:.0f} s",
             "| method | updates | pairs/s | peak RSS MiB | win vs base (taste) [95% CI] | mean taste | adherence |",
             "|---|---|---|---|---|---|---|"]
    means = table["means"]
    lines.append(f"| base | - | - | - | - | {means['toy-taste']['base']['mean']:.3f} | "
                 f"{100 * means['toy-adherence']['base']['mean']:.1f}% |")
    for m, t in training.items():
        w = table["win_rates"]["toy-taste"][m]["base"]
        lines.append(f"| {m} | {t['updates']} | {t['pairs_per_s']:.1f} | {t['peak_rss_mib']:.0f} | "
                     f"{100 * w['win_rate']:.1f}% [{100 * w['ci_low']:.1f}, {100 * w['ci_high']:.1f}] | "
                     f"{means['toy-taste'][m]['mean']:.3f} | {100 * means['toy-adherence'][m]['mean']:.1f}% |")
    print("\n".join(lines))
    (out / "benchmark.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
