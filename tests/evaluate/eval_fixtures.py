"""Builders shared by the evaluation tests: perturbed toy models and the ``dro eval`` arguments of the shared run.

Imported as a plain module: pytest puts this folder on sys.path.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

EVAL_PROMPTS, EVAL_SEEDS, EVAL_STEPS = 6, 2, 4


def save_noisy_full_model(folder: Path, relative_noise: float) -> Path:
    """A full fine-tune folder over the toy: its UNet plus noise of ``relative_noise`` x each tensor's std."""
    from diffusers import UNet2DConditionModel

    from diffusion_dro.models.loading import BASE_REF_FILE
    from diffusion_dro.toy.assets import asset_path

    unet = UNet2DConditionModel.from_pretrained(asset_path("base"), subfolder="unet")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in unet.parameters():
            if p.numel() > 1:
                p.add_(torch.randn(p.shape, generator=generator) * relative_noise * p.std())
    unet.save_pretrained(folder / "unet")
    (folder / BASE_REF_FILE).write_text(json.dumps({"base": "toy"}))
    return folder


def save_random_lora(folder: Path, std: float = 0.3) -> Path:
    """A LoRA on the toy's attention layers with random nonzero weights (std 0.1 hardly changes the images)."""
    from diffusion_dro.models import attach_lora, load_backbone, save_lora

    backbone = load_backbone("toy")
    torch.manual_seed(0)  # seeds lora_A's Gaussian init too
    attach_lora(backbone.unet, rank=4, targets="attention")
    with torch.no_grad():
        for name, p in backbone.unet.named_parameters():
            if "lora_B" in name:
                p.normal_(0, std)
    save_lora(backbone.unet, folder)
    return folder


def eval_args(out: Path, perturbed: dict[str, Path]) -> list[str]:
    return [
        "eval", "--model", "base=toy", "same=toy", f"lora=toy,{perturbed['lora']}", f"full={perturbed['full']}",
        "--prompts", "toy:heldout", "--max-prompts", str(EVAL_PROMPTS), "--seeds", str(EVAL_SEEDS),
        "--steps", str(EVAL_STEPS), "--bootstrap", "500", "--examples", "3", "--title", "Test evaluation",
        "--out", str(out),
    ]
