"""Pre-train the toy base model: DDPM epsilon-prediction on fresh renders.

Every step draws new specs from the training split (held-out colour x shape pairs
never appear), renders them, and trains the UNet against a frozen, randomly
initialised CLIP text encoder with 10% prompt dropout so classifier-free guidance
works. EMA weights are what ships.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel

from diffusion_dro.errors import InputError
from diffusion_dro.toy.components import build_components, save_components
from diffusion_dro.toy.recipe_loop import LoopSettings, run_recipe
from diffusion_dro.toy.render import render_batch
from diffusion_dro.toy.world import prompts_for, sample_specs
from diffusion_dro.train.checkpointing import atomic_dir


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
    init: str | None = field(default=None, metadata={
        "help": "Continue from this toy model folder ('toy': the shipped base): its UNet, text encoder and "
                "tokenizer replace the fresh ones; the optimizer, schedule and EMA start anew."})

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}.")
        if not 0 <= self.cond_dropout < 1:
            raise InputError(f"--cond-dropout must be in [0, 1), got {self.cond_dropout}.")
        if self.init is not None:
            _init_folder(self.init)  # a wrong folder fails now, before the run folder is written


def _embed(components: dict, prompts: list[str]) -> torch.Tensor:
    tok = components["tokenizer"]
    ids = tok(prompts, padding="max_length", max_length=tok.model_max_length, truncation=True, return_tensors="pt")
    with torch.no_grad():
        return components["text_encoder"](ids.input_ids).last_hidden_state


def _init_folder(ref: str) -> Path:
    """The toy model folder ``--init`` names; an InputError if it is not one."""
    from diffusion_dro.toy.assets import asset_path

    folder = asset_path("base") if ref == "toy" else Path(ref)
    if not all((folder / sub / "config.json").is_file() for sub in ("unet", "text_encoder")) or not (
            folder / "tokenizer").is_dir():
        raise InputError(f"--init {ref}: {folder} is not a toy model folder (unet/, text_encoder/, tokenizer/); "
                         "pass 'toy' or a folder written by dro toy pretrain (RUN/final).")
    return folder


def _load_init(ref: str) -> dict:
    """The trainable parts of a toy model folder, to continue pre-training them."""
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = _init_folder(ref)
    return {"unet": UNet2DConditionModel.from_pretrained(folder, subfolder="unet"),
            "text_encoder": CLIPTextModel.from_pretrained(folder, subfolder="text_encoder"),
            "tokenizer": CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer")}


def pretrain(cfg: PretrainConfig) -> Path | None:
    """Train (or resume) and write ``cfg.out/final``; returns it, or None if the time budget ran out."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    comps = build_components(cfg.seed)
    if cfg.init is not None:
        comps.update(_load_init(cfg.init))
    unet: UNet2DConditionModel = comps["unet"]
    comps["text_encoder"].requires_grad_(False)
    sched = comps["scheduler"]
    prompts = prompts_for("train") + [""]
    table = _embed(comps, prompts)  # frozen encoder: embed each prompt once
    index = {p: i for i, p in enumerate(prompts)}

    def loss_fn(rng: np.random.Generator) -> torch.Tensor:
        specs = sample_specs(rng, cfg.batch_size, "train")
        x0 = render_batch(specs)
        keys = ["" if u < cfg.cond_dropout else s.prompt for s, u in zip(specs, rng.random(len(specs)))]
        noise = torch.randn_like(x0)
        t = torch.randint(0, sched.config.num_train_timesteps, (len(specs),))
        pred = unet(sched.add_noise(x0, noise, t), t, table[[index[k] for k in keys]]).sample
        return F.mse_loss(pred, noise)

    settings = LoopSettings(
        out, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.ema_decay, cfg.checkpoint_every, cfg.max_minutes, cfg.seed
    )
    torch.manual_seed(cfg.seed)
    finished, steps, elapsed = run_recipe(unet, loss_fn, settings, desc="pretrain")
    if not finished:
        return None
    card = (
        f"# diffusion-dro toy base model\n\nPixel-space `UNet2DConditionModel` "
        f"({sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M parameters), frozen random CLIP text "
        f"encoder, trained by `dro toy pretrain` with:\n\n```json\n{json.dumps(asdict(cfg), indent=2)}\n```\n\n"
        f"Steps: {steps}; wall time: {elapsed / 60:.1f} min on the machine that trained it; EMA weights.\n"
    )
    with atomic_dir(out / "final") as tmp:
        save_components(tmp, comps, card=card)
    print(f"wrote {out / 'final'}")
    return out / "final"
