"""Train the toy judge on fresh renders of every colour x shape pair.

The judge must also read held-out pairs (they are what evaluation asks about),
so it trains on the ``all`` split. Light Gaussian noise on its inputs keeps it
steady on generated images, which are never as clean as renders.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from diffusion_dro.errors import InputError
from diffusion_dro.toy.judge import ToyJudge
from diffusion_dro.toy.recipe_loop import LoopSettings, run_recipe
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.world import ATTRIBUTES, sample_specs
from diffusion_dro.train.checkpointing import atomic_dir


@dataclass
class JudgeTrainConfig:
    out: str = field(metadata={"help": "Run folder; the trained judge lands in OUT/final."})
    steps: int = field(default=2500, metadata={"help": "Optimizer steps."})
    batch_size: int = field(default=128, metadata={"help": "Renders per step."})
    lr: float = field(default=2e-3, metadata={"help": "Peak AdamW learning rate."})
    warmup_steps: int = field(default=100, metadata={"help": "Linear LR warm-up steps."})
    ema_decay: float = field(default=0.995, metadata={"help": "EMA decay of the shipped weights."})
    input_noise: float = field(default=0.05, metadata={"help": "Max std of Gaussian noise added to training inputs."})
    eval_images: int = field(default=4096, metadata={"help": "Fresh renders the final accuracy is measured on."})
    checkpoint_every: int = field(default=500, metadata={"help": "Steps between atomic checkpoints."})
    max_minutes: float | None = field(default=None, metadata={"help": "Stop (after a checkpoint) once this wall time is spent."})
    seed: int = field(default=0, metadata={"help": "Seed of weights and data."})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_images", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}.")


def judge_accuracy(judge: ToyJudge, n: int, seed: int) -> dict[str, float]:
    """Per-attribute accuracy of ``judge`` on ``n`` fresh renders (all pairs) drawn with ``seed``."""
    specs = sample_specs(np.random.default_rng(seed), n, "all")
    probs = judge.probabilities(render_batch(specs))
    labels = [s.labels() for s in specs]
    return {
        name: float((probs[name].argmax(-1) == torch.tensor([lab[name] for lab in labels])).float().mean())
        for name in ATTRIBUTES
    }


def train_judge(cfg: JudgeTrainConfig) -> Path | None:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    torch.manual_seed(cfg.seed)
    judge = ToyJudge()

    def loss_fn(rng: np.random.Generator) -> torch.Tensor:
        specs = sample_specs(rng, cfg.batch_size, "all")
        x = render_batch(specs)
        sigma = torch.from_numpy(rng.uniform(0, cfg.input_noise, (len(specs), 1, 1, 1)).astype(np.float32))
        logits = judge(x + sigma * torch.randn_like(x))
        labels = [s.labels() for s in specs]
        return sum(F.cross_entropy(logits[k], torch.tensor([lab[k] for lab in labels])) for k in ATTRIBUTES)

    settings = LoopSettings(
        out, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.ema_decay, cfg.checkpoint_every, cfg.max_minutes, cfg.seed
    )
    finished, steps, elapsed = run_recipe(judge, loss_fn, settings, desc="train-judge")
    if not finished:
        return None
    acc = judge_accuracy(judge, cfg.eval_images, seed=cfg.seed + 10_000)
    (out / "accuracy.json").write_text(json.dumps(acc, indent=2))
    card = (
        "# diffusion-dro toy judge\n\nA CNN that predicts every toy attribute from 32x32 pixels, trained by "
        f"`dro toy train-judge` with:\n\n```json\n{json.dumps(asdict(cfg), indent=2)}\n```\n\n"
        f"Steps: {steps}; wall time: {elapsed / 60:.1f} min. Accuracy on {cfg.eval_images} fresh renders "
        f"(seed {cfg.seed + 10_000}):\n\n"
        + "\n".join(f"- {k}: {v:.4f}" for k, v in acc.items())
        + "\n"
    )
    with atomic_dir(out / "final") as tmp:
        judge.save_pretrained(tmp)
        (tmp / "README.md").write_text(card)
    print(json.dumps(acc, indent=2))
    return out / "final"
