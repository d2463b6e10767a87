"""Reading and validating expert sets for training.

Two layouts are read:

- ours (HF ``imagefolder``): images plus ``metadata.jsonl`` lines with
  ``file_name`` and a caption in ``prompt`` (or ``text`` / ``caption``);
- the Diffusion-DRO reference's: one sub-folder per item holding ``caption.txt``
  and one image.

Every image is opened and fully decoded up front, so a missing caption, an
unreadable or truncated file, or an empty set fails before any model loads,
with the file named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from diffusion_dro.data.expert_set import IMAGE_SUFFIXES
from diffusion_dro.data.jsonl import read_jsonl
from diffusion_dro.errors import InputError

__all__ = ["CAPTION_KEYS", "ExpertRecord", "load_expert_images", "read_captions", "read_expert_set"]

CAPTION_KEYS = ("prompt", "text", "caption")


@dataclass(frozen=True)
class ExpertRecord:
    image: Path
    prompt: str


def read_captions(folder: Path) -> dict[str, str]:
    """``file_name -> caption`` from ``folder/metadata.jsonl`` (empty if there is none)."""
    meta = folder / "metadata.jsonl"
    captions: dict[str, str] = {}
    if not meta.is_file():
        return captions
    for n, row in read_jsonl(meta):
        key = next((k for k in CAPTION_KEYS if isinstance(row.get(k), str)), None)
        if key is None or not isinstance(row.get("file_name"), str):
            raise InputError(f"{meta} line {n} needs 'file_name' and one of {list(CAPTION_KEYS)} as text.")
        captions[Path(row["file_name"]).name] = row[key].strip()
    return captions


def _reference_layout(folder: Path) -> list[ExpertRecord]:
    records = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        caption = sub / "caption.txt"
        if not images:
            raise InputError(f"--experts {folder}: item folder {sub.name!r} has no image ({', '.join(IMAGE_SUFFIXES)}).")
        if not caption.is_file() or not caption.read_text(encoding="utf-8").strip():
            raise InputError(f"--experts {folder}: item folder {sub.name!r} has no caption.txt (or it is empty).")
        records.append(ExpertRecord(images[0], caption.read_text(encoding="utf-8").strip()))
    return records


def _check_image(path: Path) -> None:
    try:
        with Image.open(path) as im:
            im.load()  # decodes every byte: catches truncation, not just a bad header
    except Exception as e:
        raise InputError(f"expert image {path} cannot be read ({type(e).__name__}: {e}); re-export or remove it.") from e


def read_expert_set(folder: str | Path) -> list[ExpertRecord]:
    """The (image, prompt) records of an expert set folder, validated."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"--experts {str(folder)!r} is not a folder; give an expert set (images + metadata.jsonl).")
    if (root / "metadata.jsonl").is_file():
        captions = read_captions(root)
        images = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        missing = [p.name for p in images if not captions.get(p.name)]
        if missing:
            raise InputError(f"--experts {root}: no caption in metadata.jsonl for {missing[:5]}; add a line for each image.")
        absent = sorted(set(captions) - {p.name for p in images})
        if absent:
            raise InputError(f"--experts {root}: metadata.jsonl lists files that are not there: {absent[:5]}.")
        records = [ExpertRecord(p, captions[p.name]) for p in images]
    else:
        records = _reference_layout(root)
    if not records:
        raise InputError(
            f"--experts {root} holds no expert images. Give images with metadata.jsonl, or one sub-folder per item "
            "with caption.txt and an image (build one with 'dro curate' or 'dro toy experts')."
        )
    for r in records:
        _check_image(r.image)
    return records


def load_expert_images(records: list[ExpertRecord], resolution: int) -> torch.Tensor:
    """Images (N, 3, R, R) in [-1, 1]: shorter side resized to ``resolution``, then centre-cropped."""
    out = []
    for r in records:
        with Image.open(r.image) as im:
            im = im.convert("RGB")
            scale = resolution / min(im.size)
            if scale != 1:
                im = im.resize((max(resolution, round(im.width * scale)), max(resolution, round(im.height * scale))),
                               Image.Resampling.BICUBIC)
            left, top = (im.width - resolution) // 2, (im.height - resolution) // 2
            im = im.crop((left, top, left + resolution, top + resolution))
            out.append(torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1))
    return torch.stack(out)
