"""Writing expert sets: a folder of images plus ``metadata.jsonl``.

Each metadata line is ``{"file_name": ..., "prompt": ..., "score": ..., "source": ...}``
(``score`` and ``source`` may be null), so ``datasets.load_dataset("imagefolder",
data_dir=out_dir)`` reads the folder as well as our own loaders do.

The folder is written atomically: everything goes into a temporary sibling folder
that is renamed into place at the end, so a crash never leaves half a set behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from diffusion_dro.errors import InputError

__all__ = ["ExpertItem", "write_expert_set", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class ExpertItem:
    """One image of an expert set.

    ``image`` is the file to copy in; ``file_name`` is its name inside the set
    (default: the image's own name). ``score`` is the curation score, ``source``
    says where the image came from (e.g. ``"feedback:app/gen-1"``).
    """

    image: Path
    prompt: str
    score: float | None = None
    source: str | None = None
    file_name: str | None = None


def _check(items: list[ExpertItem]) -> list[tuple[ExpertItem, str]]:
    if not items:
        raise InputError("write_expert_set got no items; an expert set needs at least one image with its prompt.")
    named: list[tuple[ExpertItem, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.file_name or Path(item.image).name
        if Path(name).name != name or name.startswith("."):
            raise InputError(f"expert item {i}: file_name {name!r} must be a plain file name (no folders, no leading dot).")
        if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(f"expert item {i}: file_name {name!r} must end in one of {list(IMAGE_SUFFIXES)}.")
        if name in seen:
            raise InputError(f"expert item {i}: file_name {name!r} appears twice; give each image a distinct name.")
        if not Path(item.image).is_file():
            raise InputError(f"expert item {i}: image {str(item.image)!r} is not a file.")
        if not isinstance(item.prompt, str) or not item.prompt.strip():
            raise InputError(f"expert item {i} ({name}): prompt must be non-empty text, got {item.prompt!r}.")
        seen.add(name)
        named.append((item, name))
    return named


def write_expert_set(out_dir: str | Path, items: Iterable[ExpertItem], overwrite: bool = False) -> Path:
    """Write ``items`` as an expert set at ``out_dir``, atomically; return ``out_dir``.

    Raises ``InputError`` if ``out_dir`` exists and ``overwrite`` is false, or if an
    item is unusable (missing file, empty prompt, duplicate or unsafe file name).
    """
    out = Path(out_dir)
    named = _check(list(items))
    if out.exists() and not overwrite:
        raise InputError(f"expert set folder {str(out)!r} already exists; choose another folder or pass overwrite=True.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        with open(tmp / "metadata.jsonl", "w", encoding="utf-8") as meta:
            for item, name in named:
                shutil.copyfile(item.image, tmp / name)
                row = {"file_name": name, "prompt": item.prompt, "score": item.score, "source": item.source}
                meta.write(json.dumps(row, ensure_ascii=False) + "\n")
            meta.flush()
            os.fsync(meta.fileno())
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.rename(out, old)
        os.rename(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
