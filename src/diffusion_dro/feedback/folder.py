"""Personalisation from a folder: someone's favourite images with captions -> an expert set.

Captions come from a ``metadata.jsonl`` in the folder (``file_name`` plus ``prompt``,
``text`` or ``caption``) or, for images it does not list, a ``.txt`` beside each
image with the same stem (``cat.png`` + ``cat.txt``). Every image needs a caption.
"""

from __future__ import annotations

from pathlib import Path

from diffusion_dro.data.expert_set import IMAGE_SUFFIXES, ExpertItem, write_expert_set
from diffusion_dro.data.expert_read import read_captions
from diffusion_dro.errors import InputError

__all__ = ["expert_set_from_folder", "read_captions"]

def expert_set_from_folder(folder: str | Path, out_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the captioned images of ``folder`` as an expert set at ``out_dir`` (source ``folder:<name>``)."""
    src = Path(folder)
    if not src.is_dir():
        raise InputError(f"--from_folder {str(folder)!r} is not a folder of images.")
    images = sorted(p for p in src.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InputError(f"--from_folder {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)}).")
    captions = read_captions(src)
    items, missing = [], []
    for p in images:
        text = captions.get(p.name)
        if text is None and p.with_suffix(".txt").is_file():
            text = p.with_suffix(".txt").read_text(encoding="utf-8").strip()
        if not text:
            missing.append(p.name)
            continue
        items.append(ExpertItem(p, text, None, f"folder:{p.name}"))
    if missing:
        raise InputError(f"--from_folder {str(folder)!r}: no caption for {missing[:5]}{' ...' if len(missing) > 5 else ''}; "
                         "add a .txt with the same stem beside each image or list them in metadata.jsonl.")
    return write_expert_set(out_dir, items, overwrite=overwrite)
