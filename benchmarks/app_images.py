"""The demo app's images: speed and quality of the toy base per weight dtype and sampler setting.

Run: python benchmarks/app_images.py [--images 512] [--model toy] [--settings 6,3,fp32 6,3,bf16 20,3,fp32 ...]
Each setting is STEPS,GUIDANCE,DTYPE (DPM-Solver++). Per setting: milliseconds per image (batches of 32,
as the demo's feedback stage generates them), the toy judge's mean true taste (default taste), the mean
of the top 8% (what curation can reach at best), the share the judge reads as perfect (gradient, light,
filled, centred) and the judge-read attribute shares. Same prompts and seeds for every setting.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from diffusion_dro.models import load_backbone
from diffusion_dro.sample.command import DTYPES
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.score.toy import load_toy_taste
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.toy.world import prompts_for

BEST = {"background": "gradient", "level": "light", "fill": "filled", "offset": "centred"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--settings", nargs="+", default=["6,3,fp32", "6,3,bf16", "4,3,bf16", "10,3,bf16", "20,3,bf16"])
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--model", default="toy", help="the base to sample from: toy or a toy model folder")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    train = prompts_for("train")
    prompts = [train[i] for i in rng.integers(len(train), size=args.images)]
    seeds = [int(s) for s in rng.integers(2**31 - 1, size=args.images)]
    judge, taste = load_judge(), load_toy_taste()
    for spec in args.settings:
        steps, guidance, dtype = spec.split(",")
        backbone = load_backbone(args.model, device="cpu", dtype=DTYPES[dtype])
        settings = SampleSettings(int(steps), float(guidance))
        generate(backbone, prompts[:4], seeds[:4], settings)  # warm-up
        start = time.perf_counter()
        images = torch.cat([generate(backbone, prompts[i : i + 32], seeds[i : i + 32], settings).float()
                            for i in range(0, args.images, 32)]).clamp(-1, 1)
        ms = 1000 * (time.perf_counter() - start) / args.images
        true = taste.score_batch((images + 1) / 2, prompts).numpy()
        read = judge.predict(images)
        perfect = np.mean([all(read[a][i] == v for a, v in BEST.items()) for i in range(args.images)])
        shares = " ".join(f"{v} {np.mean([x == v for x in read[a]]):.2f}" for a, v in BEST.items())
        top = np.sort(true)[-max(1, round(0.08 * args.images)):].mean()
        print(f"{spec:>12}: {ms:5.1f} ms/image, true taste {true.mean():.2f}, top 8% {top:.2f}, "
              f"perfect {perfect:.3f}; {shares}", flush=True)


if __name__ == "__main__":
    main()
