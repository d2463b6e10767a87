"""Anti-aliased 32x32 renders of toy specs.

Shapes are signed distance functions (SDFs) in pixel units; a pixel's coverage is
``clip(0.5 - sdf, 0, 1)``, which anti-aliases edges to about one pixel. Every
random choice (noise, gradient direction, offset direction) comes from the spec's
seed, so a spec always renders to the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from diffusion_dro.toy.world import Spec

RESOLUTION = 32
COLOUR_RGB: dict[str, tuple[float, float, float]] = {
    "red": (0.9, 0.1, 0.1),
    "orange": (1.0, 0.55, 0.0),
    "yellow": (0.95, 0.9, 0.1),
    "green": (0.1, 0.75, 0.2),
    "cyan": (0.1, 0.85, 0.9),
    "blue": (0.15, 0.25, 0.95),
    "purple": (0.6, 0.2, 0.85),
    "pink": (1.0, 0.45, 0.75),
}
LEVEL_VALUE = {"dark": 0.2, "mid": 0.5, "light": 0.8}
RADIUS = {"small": 6.0, "large": 10.0}
OFFSET_PX = {"centred": 0.0, "off": 5.0}
OUTLINE_PX = 2.0

_grid = np.arange(RESOLUTION, dtype=np.float32) + 0.5
_X, _Y = np.meshgrid(_grid, _grid)  # _Y grows downwards


def _box(px: np.ndarray, py: np.ndarray, bx: float, by: float) -> np.ndarray:
    qx, qy = np.abs(px) - bx, np.abs(py) - by
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0)


def _triangle(px: np.ndarray, py: np.ndarray, r: float) -> np.ndarray:
    """Equilateral triangle with side 2r, pointing up, centred on its centroid (Quilez's SDF)."""
    k = np.sqrt(3.0)
    x = np.abs(px) - r
    y = -py + r / k  # flip: image y grows downwards
    fold = x + k * y > 0
    x, y = np.where(fold, (x - k * y) / 2, x), np.where(fold, (-k * x - y) / 2, y)
    x = x - np.clip(x, -2 * r, 0)
    return -np.hypot(x, y) * np.sign(y)


def shape_sdf(shape: str, px: np.ndarray, py: np.ndarray, r: float) -> np.ndarray:
    if shape == "circle":
        return np.hypot(px, py) - r
    if shape == "square":
        return _box(px, py, 0.85 * r, 0.85 * r)
    if shape == "triangle":
        return _triangle(px, py + 0.15 * r, 1.15 * r)
    if shape == "diamond":
        return (np.abs(px) + np.abs(py) - 1.15 * r) / np.sqrt(2.0)
    if shape == "cross":
        arm = 0.38 * r
        return np.minimum(_box(px, py, r, arm), _box(px, py, arm, r))
    raise ValueError(f"unknown toy shape {shape!r}")


def _background(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    level = LEVEL_VALUE[spec.level]
    if spec.background == "plain":
        bg = np.full((RESOLUTION, RESOLUTION), level, dtype=np.float32)
    elif spec.background == "noisy":
        bg = level + 0.12 * rng.standard_normal((RESOLUTION, RESOLUTION)).astype(np.float32)
    elif spec.background == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ramp = ((_X - 16) * np.cos(angle) + (_Y - 16) * np.sin(angle)) / 16
        bg = level + 0.18 * ramp
    else:
        raise ValueError(f"unknown toy background {spec.background!r}")
    return np.clip(bg, 0.0, 1.0)[..., None].repeat(3, axis=-1)


def render(spec: Spec) -> np.ndarray:
    """Render one spec to a float32 array of shape (32, 32, 3) with values in [0, 1]."""
    rng = np.random.default_rng(spec.seed)
    bg = _background(spec, rng)
    angle = rng.uniform(0, 2 * np.pi)
    cx = 16 + OFFSET_PX[spec.offset] * np.cos(angle)
    cy = 16 + OFFSET_PX[spec.offset] * np.sin(angle)
    sdf = shape_sdf(spec.shape, _X - cx, _Y - cy, RADIUS[spec.size])
    if spec.fill == "outline":
        sdf = np.abs(sdf + OUTLINE_PX / 2) - OUTLINE_PX / 2
    cover = np.clip(0.5 - sdf, 0.0, 1.0)[..., None]
    colour = np.asarray(COLOUR_RGB[spec.colour], dtype=np.float32)
    return (bg * (1 - cover) + colour * cover).astype(np.float32)


def render_batch(specs: Sequence[Spec]) -> torch.Tensor:
    """Render specs to a tensor of shape (B, 3, 32, 32) in [-1, 1], the models' pixel space."""
    arr = np.stack([render(s) for s in specs])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).mul(2).sub(1).contiguous()
