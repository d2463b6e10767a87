"""``dro sample``: prompts -> PNGs, a grid and metadata.jsonl."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm

from diffusion_dro.errors import InputError
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.sample.images import make_grid, save_png, to_pil

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass
class SampleConfig:
    out: str = field(metadata={"help": "Output folder for PNGs, grid.png and metadata.jsonl."})
    model: str = field(default="toy", metadata={"help": "'toy', a diffusers folder, or a hub id."})
    adapter: str | None = field(default=None, metadata={"help": "LoRA folder (pytorch_lora_weights.safetensors)."})
    prompt: list[str] = field(default_factory=list, metadata={"help": "One or more prompts."})
    prompts: str | None = field(default=None, metadata={"help": "Prompt set: .txt, .jsonl, toy:train or toy:heldout."})
    seed: int = field(default=0, metadata={"help": "Seed of the first image of each prompt; image k uses seed+k."})
    num_images: int = field(default=4, metadata={"help": "Images per prompt."})
    steps: int = field(default=20, metadata={"help": "Sampler steps."})
    guidance_scale: float = field(default=3.0, metadata={"help": "Classifier-free guidance scale (1 = off)."})
    negative_prompt: str = field(default="", metadata={"help": "Prompt guided away from (replaces the empty prompt)."})
    scheduler: str = field(default="dpmsolver++", metadata={"help": "Sampler name (see models.SCHEDULERS)."})
    batch_size: int = field(default=32, metadata={"help": "Images per forward batch."})
    device: str = field(default="auto", metadata={"help": "'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ..."})
    dtype: Literal["fp32", "fp16", "bf16"] = field(default="fp32", metadata={"help": "Weights' dtype."})

    def __post_init__(self) -> None:
        if bool(self.prompt) == bool(self.prompts):
            raise InputError("give exactly one of --prompt TEXT... or --prompts FILE.")
        for name in ("num_images", "batch_size"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}.")
        self.settings()  # validates steps, guidance and scheduler before any weights load

    def settings(self) -> SampleSettings:
        return SampleSettings(self.steps, self.guidance_scale, self.scheduler, self.negative_prompt)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def run_sample(cfg: SampleConfig) -> Path:
    from diffusion_dro.data.prompts import load_prompts
    from diffusion_dro.models.loading import load_backbone

    prompts = list(cfg.prompt) if cfg.prompt else load_prompts(cfg.prompts)
    backbone = load_backbone(cfg.model, cfg.adapter, device=resolve_device(cfg.device), dtype=DTYPES[cfg.dtype])
    backbone.check_prompts(prompts)
    jobs = [(p, cfg.seed + k) for p in prompts for k in range(cfg.num_images)]
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = cfg.settings()
    images = []
    with open(out / "metadata.jsonl", "w") as meta, tqdm(total=len(jobs), desc="sample", unit="img") as bar:
        for start in range(0, len(jobs), cfg.batch_size):
            chunk = jobs[start : start + cfg.batch_size]
            batch = to_pil(generate(backbone, [p for p, _ in chunk], [s for _, s in chunk], settings))
            for i, ((prompt, seed), image) in enumerate(zip(chunk, batch), start):
                name = f"{i:05d}.png"
                save_png(image, out / name)
                row = {"file_name": name, "prompt": prompt, "seed": seed, "model": cfg.model, "adapter": cfg.adapter}
                meta.write(json.dumps(row | vars(settings)) + "\n")
                images.append(image)
            bar.update(len(chunk))
    upscale = max(1, 128 // images[0].width)
    save_png(make_grid(images[:256], cols=cfg.num_images if cfg.num_images > 1 else None, upscale=upscale), out / "grid.png")
    print(f"wrote {len(images)} images, {out / 'grid.png'} and {out / 'metadata.jsonl'}")
    return out
