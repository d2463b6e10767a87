"""Score every generated image with every scorer, reading the PNGs as saved.

Scores come from the saved 8-bit images, not from the sampler's float output, so a
resumed run scores exactly what a fresh run would. Scorers load one at a time and
images stream from disk in chunks, which keeps memory flat for large prompt sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from diffusion_dro.errors import InputError
from diffusion_dro.evaluate.generation import ModelImages

CHUNK = 64


def load_images(paths: Sequence[Path], size: int) -> torch.Tensor:
    """PNG files of ``size`` x ``size`` -> (B, 3, size, size) floats in [0, 1]."""
    arrays = []
    for path in paths:
        with Image.open(path) as im:
            if im.size != (size, size):
                raise InputError(
                    f"image {path} is {im.size[0]}x{im.size[1]} but this run's images are {size}x{size}; "
                    "images of one evaluation must share a size. Delete the file and re-run to regenerate it."
                )
            arrays.append(np.asarray(im.convert("RGB"), dtype=np.float32))
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).div(255.0)


def iter_chunks(model: ModelImages, prompts: list[str], chunk: int = CHUNK) -> Iterator[tuple[torch.Tensor, list[str]]]:
    """(images in [0, 1], prompts) in chunks, row-major over (prompt, seed)."""
    flat = [(path, prompts[p]) for p, row in enumerate(model.files) for path in row]
    for i in range(0, len(flat), chunk):
        part = flat[i:i + chunk]
        yield load_images([f for f, _ in part], model.size), [p for _, p in part]


def check_same_size(models: list[ModelImages]) -> int:
    sizes = {m.spec.name: m.size for m in models}
    if len(set(sizes.values())) > 1:
        raise InputError(f"the models' images differ in size {sizes}; paired comparison needs one size. "
                         "Pass --resolution N to generate every model at N x N.")
    return models[0].size


def score_images(
    models: list[ModelImages],
    prompts: list[str],
    scorer_names: list[str],
    *,
    sources: dict[str, str] | None = None,
    taste: str | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    progress: bool = True,
) -> dict[str, dict[str, np.ndarray]]:
    """``scores[scorer][model]``: (P, S) float64 arrays, higher is better."""
    from diffusion_dro.score import load_scorer

    check_same_size(models)
    sources = sources or {}
    n_seeds = len(models[0].files[0])
    out: dict[str, dict[str, np.ndarray]] = {}
    for name in scorer_names:
        options = {"taste": taste} if name == "toy-taste" else {}
        scorer = load_scorer(name, sources.get(name), device=device, dtype=dtype, **options)
        out[name] = {}
        total = len(models) * len(prompts) * n_seeds
        with tqdm(total=total, desc=f"score {name}", unit="img", disable=not progress) as bar:
            for model in models:
                chunks = []
                for images, texts in iter_chunks(model, prompts):
                    chunks.append(scorer(images, texts).double().numpy())
                    bar.update(len(texts))
                out[name][model.spec.name] = np.concatenate(chunks).reshape(len(prompts), n_seeds)
        del scorer
    return out
