"""Foundation benchmark: base-model adherence (CFG 1 and 3), judge accuracy, sampling speed.

Run: python benchmarks/foundation.py [--model toy] [--seeds 8] [--out benchmarks/results/foundation.json]
Held-out prompts: 16 (8 held-out colour x shape pairs x 2 sizes) x --seeds fixed seeds = 128 images per CFG.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import torch

from diffusion_dro.models import load_backbone
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.toy.judge import adherence, load_judge
from diffusion_dro.toy.judge_train import judge_accuracy
from diffusion_dro.toy.world import prompts_for


def adherence_rate(backbone, judge, split: str, seeds: int, cfg: float) -> tuple[float, int, float]:
    prompts = [p for p in prompts_for(split) for _ in range(seeds)]
    seed_list = [k for _ in prompts_for(split) for k in range(seeds)]
    start = time.perf_counter()
    images = torch.cat([
        generate(backbone, prompts[i : i + 64], seed_list[i : i + 64], SampleSettings(guidance_scale=cfg))
        for i in range(0, len(prompts), 64)
    ])
    seconds = time.perf_counter() - start
    return adherence(judge, images, prompts).mean().item(), len(prompts), len(prompts) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="toy")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--out", default="benchmarks/results/foundation.json")
    args = ap.parse_args()
    backbone, judge = load_backbone(args.model), load_judge()
    results: dict = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}",
        "model": args.model,
        "judge_accuracy_4096_fresh_renders": judge_accuracy(judge, 4096, seed=2024),
    }
    for split in ("heldout", "train"):
        for cfg in (1.0, 3.0):
            rate, n, ips = adherence_rate(backbone, judge, split, args.seeds, cfg)
            results[f"adherence_{split}_cfg{cfg:g}"] = {"rate": rate, "images": n, "images_per_s": ips}
            print(f"{split:8s} CFG {cfg:g}: adherence {rate:.3f} on {n} images ({ips:.1f} images/s)", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
