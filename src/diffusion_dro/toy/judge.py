"""The toy judge: a small CNN that reads every attribute of a toy image from pixels.

It turns generated images into numbers: per-attribute probabilities, hence
prompt adherence (shape and colour match) and any taste's expected score. It is a
diffusers ``ModelMixin``, so it saves and loads as a ``config.json`` +
``diffusion_pytorch_model.safetensors`` folder like every other model here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from diffusion_dro.errors import ModelLoadError
from diffusion_dro.toy.world import ATTRIBUTES

HEADS: dict[str, int] = {name: len(values) for name, values in ATTRIBUTES.items()}


class ToyJudge(ModelMixin, ConfigMixin):
    """Input (B, 3, 32, 32) in [-1, 1]; output logits per attribute, each (B, K_attr)."""

    @register_to_config
    def __init__(self, channels: tuple[int, ...] = (32, 64, 96), hidden: int = 256):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:  # 32 -> 16 -> 8 -> 4
            layers += [
                nn.Conv2d(c_in, c, 3, padding=1),
                nn.GroupNorm(8, c),
                nn.SiLU(),
                nn.Conv2d(c, c, 3, stride=2, padding=1),
                nn.GroupNorm(8, c),
                nn.SiLU(),
            ]
            c_in = c
        self.features = nn.Sequential(*layers)
        # Flatten rather than pool: offset from centre is a question of position.
        self.trunk = nn.Sequential(nn.Flatten(), nn.Linear(c_in * 16, hidden), nn.SiLU())
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, k) for name, k in HEADS.items()})

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.trunk(self.features(images))
        return {name: head(h) for name, head in self.heads.items()}

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor, batch_size: int = 256) -> dict[str, torch.Tensor]:
        """Softmax probabilities per attribute, each (B, K); images (B, 3, 32, 32) in [-1, 1]."""
        if images.ndim != 4 or images.shape[1:] != (3, 32, 32):
            raise ValueError(f"the toy judge reads images of shape (B, 3, 32, 32), got {tuple(images.shape)}")
        device, dtype = self.device, self.dtype
        chunks = [self(images[i : i + batch_size].to(device, dtype)) for i in range(0, len(images), batch_size)]
        return {name: torch.cat([c[name] for c in chunks]).float().softmax(-1).cpu() for name in HEADS}

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> dict[str, list[str]]:
        """Most likely value of each attribute, as names."""
        probs = self.probabilities(images)
        return {name: [ATTRIBUTES[name][i] for i in p.argmax(-1).tolist()] for name, p in probs.items()}


def default_judge_path() -> Path:
    from diffusion_dro.toy.assets import asset_path

    return asset_path("judge")


def load_judge(path: str | Path | None = None) -> ToyJudge:
    """Load a judge folder (default: the shipped one) in eval mode."""
    folder = Path(path) if path is not None else default_judge_path()
    if not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"toy judge folder {folder} has no config.json. Train one with 'dro toy train-judge --out DIR' "
            "and pass DIR, or omit the path to use the shipped judge."
        )
    try:
        judge = ToyJudge.from_pretrained(folder)
    except Exception as e:  # safetensors/OS errors differ by version; the message is what matters
        raise ModelLoadError(f"could not load the toy judge from {folder}: {e}. Re-train or re-install it.") from e
    return judge.eval()


def adherence(judge: ToyJudge, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """1.0 where the judge's most likely shape and colour both match the prompt, else 0.0; shape (B,)."""
    from diffusion_dro.toy.world import parse_prompt

    predicted = judge.predict(images)
    parsed = [parse_prompt(p) for p in prompts]
    return torch.tensor(
        [float(s == p.shape and c == p.colour) for s, c, p in zip(predicted["shape"], predicted["colour"], parsed)]
    )
