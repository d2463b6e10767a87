"""Tensor <-> PNG conversion and image grids."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> RGB PIL images."""
    arr = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a) for a in arr.permute(0, 2, 3, 1).numpy()]


def from_pil(images: list[Image.Image]) -> torch.Tensor:
    """RGB PIL images of one size -> (B, 3, H, W) in [-1, 1]."""
    arr = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).div(127.5).sub(1)


def make_grid(images: list[Image.Image], cols: int | None = None, pad: int = 2, upscale: int = 1) -> Image.Image:
    """Tile images row by row (``cols`` per row) on a white background."""
    cols = cols or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / cols)
    w, h = images[0].size
    w, h = w * upscale, h * upscale
    grid = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), "white")
    for i, im in enumerate(images):
        if upscale != 1:
            im = im.resize((w, h), Image.NEAREST)
        grid.paste(im, (pad + (i % cols) * (w + pad), pad + (i // cols) * (h + pad)))
    return grid


def save_png(image: Image.Image, path: Path) -> None:
    """Write via a temporary name so a crash never leaves a truncated PNG under the real name."""
    tmp = path.with_name(f".{path.name}.tmp")
    image.save(tmp, format="PNG")
    tmp.replace(path)
