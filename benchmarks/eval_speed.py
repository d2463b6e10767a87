"""Evaluation speed: ``dro eval`` of 2 toy models x 32 prompts x 4 seeds, end to end, from an empty folder.

Run: python benchmarks/eval_speed.py [--batch-sizes 32 64 128] [--out benchmarks/results/eval_speed.json]

The two models are the shipped toy base and the toy with a small random LoRA on its
attention layers (built into a temporary folder), at the default sampler settings
(DPM-Solver++ 20 steps, CFG 3), both protocols, toy-taste and toy-adherence, 2000
bootstrap resamples, report with plots. Each batch size runs once into a fresh
folder (no reused images). Wall time, process CPU time (all threads) and the load
average before and after are recorded, since other work on the machine slows wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import sys
import time
from datetime import date
from pathlib import Path

import torch

from diffusion_dro.evaluate import EvalConfig, run_eval

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "evaluate"))
from eval_fixtures import save_random_lora  # noqa: E402  -- the evaluation tests' random LoRA


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]] if Path("/proc/loadavg").exists() else []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--out", default="benchmarks/results/eval_speed.json")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        lora = save_random_lora(Path(tmp) / "lora", std=0.1)
        for batch in args.batch_sizes:
            before = loadavg()
            wall, cpu = time.perf_counter(), time.process_time()
            results = run_eval(EvalConfig(
                out=f"{tmp}/eval-{batch}", model=["base=toy", f"lora=toy,{lora}"], prompts="toy:train",
                max_prompts=args.prompts, seeds=args.seeds, batch_size=batch, title="eval speed benchmark",
            ))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            images = results["timing"]["images_generated"]
            run = {
                "batch_size": batch, "images": images, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                "generation_s": round(results["timing"]["generation_s"], 2),
                "images_per_s_generation": round(images / results["timing"]["generation_s"], 2),
                "scoring_s": round(results["timing"]["scoring_s"], 2),
                "report_s": round(results["timing"]["report_s"], 2),
                "loadavg_before": before, "loadavg_after": loadavg(),
                "win_rate_taste_lora_vs_base": results["protocols"]["per-seed"]["win_rates"]["toy-taste"]["lora"]["base"],
            }
            runs.append(run)
            print(json.dumps(run), flush=True)
    summary = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, "
                   f"torch {torch.__version__}",
        "setting": f"2 models x {args.prompts} prompts x {args.seeds} seeds, 20 steps, CFG 3, dpmsolver++",
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
