"""``dro toy experts``: an expert set from the toy world, curated by a simulated taste.

A pool of renders of training prompts (held-out colour x shape pairs never appear),
each scored by its true taste (from its spec), keeps its top fraction: the toy
stand-in for the paper's "top-500 Pick-a-Pic images by PickScore". Ties are broken
by a seeded shuffle.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from diffusion_dro.data.expert_set import ExpertItem, write_expert_set
from diffusion_dro.errors import InputError
from diffusion_dro.sample.images import save_png, to_pil
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.taste import parse_taste
from diffusion_dro.toy.world import sample_specs


@dataclass
class ToyExpertsConfig:
    out: str = field(metadata={"help": "Folder of the expert set to write (images + metadata.jsonl)."})
    taste: str | None = field(default=None, metadata={"help": "Simulated taste, JSON inline or a file (default: the toy default)."})
    pool: int = field(default=20000, metadata={"help": "Renders of training prompts to choose from (only the kept ones are drawn)."})
    top_fraction: float = field(default=0.025, metadata={"help": "Fraction of the pool kept (by taste): 500 of 20,000 by default, as the paper kept the top 500."})
    seed: int = field(default=0, metadata={"help": "Seed of the pool."})
    overwrite: bool = field(default=False, metadata={"help": "Replace --out if it exists."})

    def __post_init__(self) -> None:
        if self.pool <= 0:
            raise InputError(f"--pool must be a positive integer, got {self.pool}.")
        if not 0 < self.top_fraction <= 1:
            raise InputError(f"--top-fraction must be in (0, 1], got {self.top_fraction}.")
        if round(self.pool * self.top_fraction) < 1:
            raise InputError(f"--pool {self.pool} x --top-fraction {self.top_fraction} keeps no image; raise either.")


def toy_experts(cfg: ToyExpertsConfig) -> Path:
    taste = parse_taste(cfg.taste)
    out = Path(cfg.out)
    if out.exists() and not cfg.overwrite:
        raise InputError(f"--out {out} already exists; choose another folder or pass --overwrite.")
    rng = np.random.default_rng(cfg.seed)
    specs = sample_specs(rng, cfg.pool, "train")
    scores = np.array([taste.score_spec(s) for s in specs])
    order = np.lexsort((rng.permutation(len(specs)), -scores))  # by score, ties shuffled
    keep = order[: round(cfg.pool * cfg.top_fraction)]
    images = render_batch([specs[i] for i in keep])
    with tempfile.TemporaryDirectory(prefix="dro-toy-experts-") as tmp:
        items = []
        for n, (i, img) in enumerate(zip(keep, to_pil(images))):
            path = Path(tmp) / f"expert-{n:05d}.png"
            save_png(img, path)
            items.append(ExpertItem(path, specs[i].prompt, float(scores[i]), f"toy:pool-{cfg.seed}/{i}"))
        write_expert_set(out, items, overwrite=cfg.overwrite)
    print(f"wrote {len(keep)} experts to {out} (mean taste {scores[keep].mean():.2f} vs pool {scores.mean():.2f})")
    return out
