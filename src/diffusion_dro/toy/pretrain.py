"""Pre-train the toy base model: DDPM epsilon-prediction on fresh renders.

Every step draws new specs from the training split (held-out colour x shape pairs
never appear), renders them, and trains the UNet against a frozen, randomly
initialised CLIP text encoder with 10% prompt dropout so classifier-free guidance
works. EMA weights are what ships.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from diffusers.training_utils import EMAModel
from tqdm.auto import tqdm

from diffusion_dro.errors import InputError
from diffusion_dro.toy.components import build_components, save_components
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.world import prompts_for, sample_specs
from diffusion_dro.train.checkpointing import atomic_dir, latest_checkpoint, prune_checkpoints


@dataclass
class PretrainConfig:
    out: str = field(metadata={"help": "Run folder; the trained model lands in OUT/final."})
    steps: int = field(default=6000, metadata={"help": "Optimizer steps (the cosine LR schedule spans them)."})
    batch_size: int = field(default=64, metadata={"help": "Renders per step."})
    lr: float = field(default=1e-3, metadata={"help": "Peak AdamW learning rate."})
    warmup_steps: int = field(default=200, metadata={"help": "Linear LR warm-up steps."})
    ema_decay: float = field(default=0.999, metadata={"help": "EMA decay of the shipped weights."})
    cond_dropout: float = field(default=0.1, metadata={"help": "Probability of training on the empty prompt (for CFG)."})
    checkpoint_every: int = field(default=500, metadata={"help": "Steps between atomic checkpoints."})
    max_minutes: float | None = field(default=None, metadata={"help": "Stop (after a checkpoint) once this wall time is spent."})
    seed: int = field(default=0, metadata={"help": "Seed of weights, data and noise."})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}.")
        if not 0 <= self.cond_dropout < 1:
            raise InputError(f"--cond-dropout must be in [0, 1), got {self.cond_dropout}.")


def _embed(components: dict, prompts: list[str]) -> torch.Tensor:
    tok = components["tokenizer"]
    ids = tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return components["text_encoder"](ids.input_ids).last_hidden_state


def pretrain(cfg: PretrainConfig) -> Path:
    """Train (or resume) and write ``cfg.out/final``; returns that folder."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    torch.manual_seed(cfg.seed)
    comps = build_components(cfg.seed)
    unet: UNet2DConditionModel = comps["unet"]
    sched = comps["scheduler"]
    prompts = prompts_for("train")
    table = _embed(comps, prompts + [""])  # frozen encoder: embed each prompt once
    index = {p: i for i, p in enumerate(prompts + [""])}

    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=1e-4)
    lr_sched = get_cosine_schedule_with_warmup(opt, cfg.warmup_steps, cfg.steps)
    ema = EMAModel(unet.parameters(), decay=cfg.ema_decay, model_cls=UNet2DConditionModel, model_config=unet.config)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed = 0, 0.0
    ckpt = latest_checkpoint(out)
    if ckpt is not None:
        state = torch.load(ckpt / "state.pt", weights_only=False)
        unet.load_state_dict(state["unet"])
        opt.load_state_dict(state["optimizer"])
        lr_sched.load_state_dict(state["lr_scheduler"])
        ema.load_state_dict(state["ema"])
        rng.bit_generator.state = state["data_rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed = state["step"], state["elapsed"]
        print(f"resumed from {ckpt} at step {step}")

    def save_checkpoint() -> None:
        with atomic_dir(out / f"checkpoint-{step}") as tmp:
            torch.save(
                {
                    "unet": unet.state_dict(),
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
        prune_checkpoints(out, keep=2)

    log = open(out / "metrics.jsonl", "a")
    start = time.time() - elapsed
    bar = tqdm(total=cfg.steps, initial=step, desc="pretrain", dynamic_ncols=True)
    unet.train()
    while step < cfg.steps:
        specs = sample_specs(rng, cfg.batch_size, "train")
        x0 = render_batch(specs)
        keys = [("" if u < cfg.cond_dropout else s.prompt) for s, u in zip(specs, rng.random(cfg.batch_size))]
        cond = table[[index[k] for k in keys]]
        noise = torch.randn_like(x0)
        t = torch.randint(0, sched.config.num_train_timesteps, (x0.shape[0],))
        loss = F.mse_loss(unet(sched.add_noise(x0, noise, t), t, cond).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        lr_sched.step()
        ema.step(unet.parameters())
        step += 1
        elapsed = time.time() - start
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr_sched.get_last_lr()[0]:.2e}")
        if step % 50 == 0:
            log.write(json.dumps({"step": step, "loss": loss.item(), "elapsed_s": round(elapsed, 1)}) + "\n")
            log.flush()
        out_of_time = cfg.max_minutes is not None and elapsed > cfg.max_minutes * 60
        if step % cfg.checkpoint_every == 0 or step == cfg.steps or out_of_time:
            save_checkpoint()
        if out_of_time:
            print(f"stopped at step {step}: --max-minutes {cfg.max_minutes} spent; re-run to resume")
            return out
    bar.close()
    ema.copy_to(unet.parameters())
    card = (
        f"# diffusion-dro toy base model\n\nPixel-space `UNet2DConditionModel` "
        f"({sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M parameters) trained by "
        f"`dro toy pretrain` with {json.dumps(asdict(cfg))}.\n\n"
        f"Steps: {step}; wall time: {elapsed / 60:.1f} min; EMA weights.\n"
    )
    with atomic_dir(out / "final") as tmp:
        save_components(tmp, comps, card=card)
    return out / "final"
