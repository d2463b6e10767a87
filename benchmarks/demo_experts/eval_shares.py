"""Where a fine-tuned model's wins over the base come from, and where it loses (diagnostic, judge-read).

Usage: python eval_shares.py IMAGES:MODEL [IMAGES:MODEL ...]
  IMAGES is a `dro eval` images folder (OUT/eval/images) holding base/ and MODEL/ for the same prompts and seeds.
Prints, per IMAGES:MODEL, the judge's mean attribute shares of the base and the model (default taste) and then,
pooled over all arguments, the pairs the model does not win (taste <= the base's; ties count as losses here,
as half in `dro eval`), by prompt, and how many of those images the judge reads as a plain background.
"""
import collections
import sys
from pathlib import Path

import numpy as np
import torch

from diffusion_dro.evaluate.generation import METADATA, read_metadata
from diffusion_dro.evaluate.scoring import load_images
from diffusion_dro.score.toy import load_toy_taste
from diffusion_dro.toy.judge import load_judge
from diffusion_dro.toy.world import ATTRIBUTES, NUISANCES

judge, taste = load_judge().eval(), load_toy_taste()


def read(folder: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    rows = list(read_metadata(folder / METADATA).values())  # the last row of each file: its image
    x = load_images([folder / r["file_name"] for r in rows], 32)
    prompts = [r["prompt"] for r in rows]
    with torch.no_grad():
        probs = {k: v.softmax(-1) for k, v in judge(x * 2 - 1).items()}
    return prompts, taste.score_batch(x, prompts).numpy(), {k: v.numpy() for k, v in probs.items()}


def shares(probs: dict[str, np.ndarray]) -> str:
    return "  ".join(f"{a}: " + " ".join(f"{v} {probs[a][:, i].mean():.2f}" for i, v in enumerate(ATTRIBUTES[a]))
                     for a in NUISANCES)


losses, pairs, plain, total = collections.Counter(), collections.Counter(), 0, 0
for arg in sys.argv[1:]:
    images, model = arg.rsplit(":", 1)
    prompts, base_taste, base_probs = read(Path(images) / "base")
    _, model_taste, model_probs = read(Path(images) / model)
    print(f"{arg}\n  base  taste {base_taste.mean():.3f}  {shares(base_probs)}\n"
          f"  {model:5} taste {model_taste.mean():.3f}  {shares(model_probs)}")
    plain_idx = ATTRIBUTES["background"].index("plain")
    for p, b, m, bg in zip(prompts, base_taste, model_taste, model_probs["background"]):
        pairs[p] += 1
        if m <= b + 1e-6:
            losses[p] += 1
            total += 1
            plain += bool(bg[plain_idx] > 0.5)
print(f"\nnot won: {total} of {sum(pairs.values())} pairs; the model's image has a plain background in {plain}")
for p, c in losses.most_common():
    print(f"  {p:28} {c}/{pairs[p]}")
