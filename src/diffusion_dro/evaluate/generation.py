"""Fixed-seed image generation for every (model, prompt, seed), resumable.

Layout: ``OUT/images/NAME/pPPPPP_sSEED.png`` plus ``OUT/images/NAME/metadata.jsonl``,
one row per image written after its PNG (which is itself written atomically). On a
re-run an image is reused when its file exists and its row matches what would be
generated now: prompt, seed, sampler settings, model, adapter, the fingerprint of
their files (size and modification time), dtype and requested resolution.
Anything else is generated again, so an interrupted run resumes where it stopped
and a retrained checkpoint at the same path is never mistaken for the old one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from diffusion_dro.errors import InputError
from diffusion_dro.evaluate.config import ModelSpec
from diffusion_dro.sample.generate import SampleSettings

IMAGE_DIR = "images"
METADATA = "metadata.jsonl"


def image_name(prompt_index: int, seed: int) -> str:
    return f"p{prompt_index:05d}_s{seed}.png"


def fingerprint(spec: ModelSpec) -> str:
    """A short hash of the names, sizes and mtimes of the model's (and adapter's) files; a hub id stands for itself."""
    from diffusion_dro.models.loading import resolve_ref

    h = hashlib.sha256()
    for ref in (resolve_ref(spec.model), spec.adapter):
        if ref is None:
            continue
        folder = Path(ref)
        if not folder.is_dir():
            h.update(f"hub:{ref}".encode())
            continue
        for f in sorted(p for p in folder.rglob("*") if p.is_file()):
            st = f.stat()
            h.update(f"{f.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


@dataclass
class ModelImages:
    """Where one model's images are: ``files[p][s]`` for prompt p and the s-th seed."""

    spec: ModelSpec
    files: list[list[Path]]
    size: int
    kind: str | None = None
    generated: int = 0
    reused: int = 0
    fingerprint: str = ""
    seconds: float = 0.0


def read_metadata(path: Path) -> dict[str, dict]:
    """``file_name -> row`` (the last row of a name wins); a line cut short by a crash is skipped."""
    rows: dict[str, dict] = {}
    if not path.is_file():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn final line: its image is generated again
        if isinstance(row, dict) and "file_name" in row:
            rows[row["file_name"]] = row
    return rows


def _check_size(name: str, size: int, seen: tuple[str, int] | None) -> tuple[str, int]:
    if seen is not None and seen[1] != size:
        raise InputError(
            f"--model {name} makes {size}x{size} images but {seen[0]} makes {seen[1]}x{seen[1]}; paired "
            f"comparison needs one size. Pass --resolution {seen[1]} (or another size both models support)."
        )
    return seen or (name, size)


def generate_images(
    specs: list[ModelSpec],
    prompts: list[str],
    seeds: list[int],
    settings: SampleSettings,
    out_dir: str | Path,
    *,
    batch_size: int = 32,
    device: str = "auto",
    dtype: str = "fp32",
    resolution: int | None = None,
    progress: bool = True,
) -> list[ModelImages]:
    """Generate (or reuse) ``len(prompts) x len(seeds)`` images per model; returns where they are."""
    import time

    from diffusion_dro.models.loading import load_backbone
    from diffusion_dro.sample.command import DTYPES, resolve_device
    from diffusion_dro.sample.generate import generate
    from diffusion_dro.sample.images import save_png, to_pil

    seen: tuple[str, int] | None = None
    results = []
    for spec in specs:
        start = time.perf_counter()
        folder = Path(out_dir) / IMAGE_DIR / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        common = {"model": spec.model, "adapter": spec.adapter, "fingerprint": fingerprint(spec), "dtype": dtype,
                  "resolution": resolution or "native", **vars(settings)}
        existing = read_metadata(folder / METADATA)
        files = [[folder / image_name(p, s) for s in seeds] for p in range(len(prompts))]
        todo, size = [], None
        for p, prompt in enumerate(prompts):
            for s in seeds:
                name = image_name(p, s)
                row = existing.get(name)
                if row is not None and (folder / name).is_file() and row == {**row, "prompt": prompt, "seed": s, **common}:
                    size = row.get("size", size)
                else:
                    todo.append((p, s))
        done = len(prompts) * len(seeds) - len(todo)
        kind = next(iter(existing.values()), {}).get("kind") if not todo else None
        if size is not None:
            seen = _check_size(spec.name, size, seen)
        with tqdm(total=len(prompts) * len(seeds), initial=done, desc=f"generate {spec.name}", unit="img",
                  disable=not progress) as bar:
            if todo:
                backbone = load_backbone(spec.model, spec.adapter, device=resolve_device(device),
                                         dtype=DTYPES[dtype], resolution=resolution, fuse_adapter=True,
                                         progress=progress)
                backbone.check_prompts(prompts)
                size, kind = backbone.resolution, backbone.kind
                seen = _check_size(spec.name, size, seen)
                with open(folder / METADATA, "a", encoding="utf-8") as meta:
                    for i in range(0, len(todo), batch_size):
                        chunk = todo[i:i + batch_size]
                        images = generate(backbone, [prompts[p] for p, _ in chunk], [s for _, s in chunk], settings)
                        for (p, s), image in zip(chunk, to_pil(images)):
                            name = image_name(p, s)
                            save_png(image, folder / name)
                            row = {"file_name": name, "prompt": prompts[p], "seed": s, **common,
                                   "size": size, "kind": kind}
                            meta.write(json.dumps(row) + "\n")
                        meta.flush()
                        bar.update(len(chunk))
                del backbone
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        results.append(ModelImages(spec, files, int(size), kind, generated=len(todo), reused=done,
                                   fingerprint=common["fingerprint"], seconds=time.perf_counter() - start))
    return results
