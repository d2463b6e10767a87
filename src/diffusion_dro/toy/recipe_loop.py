"""The small training loop both toy recipes share (base model and judge).

Single process, fp32, fresh synthetic data every step: AdamW with cosine warm-up,
gradient clipping, EMA, a progress bar, JSONL metrics, atomic checkpoints and
resume from the newest one. Fine-tuning uses the accelerate loop in ``train``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from diffusion_dro.train.checkpointing import atomic_dir, latest_checkpoint, prune_checkpoints


@dataclass
class LoopSettings:
    out: Path
    steps: int
    lr: float
    warmup_steps: int
    ema_decay: float
    checkpoint_every: int
    max_minutes: float | None
    seed: int


def run_recipe(
    model: torch.nn.Module, loss_fn: Callable[[np.random.Generator], torch.Tensor], s: LoopSettings, desc: str
) -> tuple[bool, int, float]:
    """Train ``model`` on ``loss_fn(rng)`` until ``s.steps`` or the time budget.

    Returns (finished, steps, wall seconds). When finished, the EMA weights are
    copied into ``model``; when stopped by ``max_minutes``, a checkpoint holds the
    state and calling again resumes.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=1e-4)
    lr_sched = get_cosine_schedule_with_warmup(opt, s.warmup_steps, s.steps)
    ema = EMAModel(params, decay=s.ema_decay)
    rng = np.random.default_rng(s.seed)
    step, elapsed = 0, 0.0
    ckpt = latest_checkpoint(s.out)
    if ckpt is not None:
        state = torch.load(ckpt / "state.pt", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        lr_sched.load_state_dict(state["lr_scheduler"])
        ema.load_state_dict(state["ema"])
        rng.bit_generator.state = state["data_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resumed from {ckpt} at step {step}")

    def save() -> None:
        with atomic_dir(s.out / f"checkpoint-{step}") as tmp:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "lr_scheduler": lr_sched.state_dict(),
                    "ema": ema.state_dict(),
                    "data_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                    "step": step,
                    "elapsed": elapsed,
                },
                tmp / "state.pt",
            )
        prune_checkpoints(s.out, keep=2)

    start = time.time() - elapsed
    model.train()
    with open(s.out / "metrics.jsonl", "a") as log, tqdm(total=s.steps, initial=step, desc=desc, dynamic_ncols=True) as bar:
        while step < s.steps:
            loss = loss_fn(rng)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            lr_sched.step()
            ema.step(params)
            step += 1
            elapsed = time.time() - start
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr_sched.get_last_lr()[0]:.2e}")
            if step % 50 == 0 or step == s.steps:
                log.write(json.dumps({"step": step, "loss": loss.item(), "elapsed_s": round(elapsed, 1)}) + "\n")
                log.flush()
            out_of_time = s.max_minutes is not None and elapsed > s.max_minutes * 60
            if step % s.checkpoint_every == 0 or step == s.steps or out_of_time:
                save()
            if out_of_time and step < s.steps:
                print(f"stopped at step {step}: --max-minutes {s.max_minutes} spent; re-run the same command to resume")
                return False, step, elapsed
    ema.copy_to(params)
    model.eval()
    return True, step, elapsed
