"""Prompt sets: ``toy:train`` / ``toy:heldout``, a ``.txt`` file (one per line) or ``.jsonl`` with ``prompt``."""

from __future__ import annotations

from pathlib import Path

from diffusion_dro.data.jsonl import read_jsonl
from diffusion_dro.errors import InputError


def load_prompts(spec: str) -> list[str]:
    if spec.startswith("toy:"):
        from diffusion_dro.toy.world import prompts_for

        return prompts_for(spec.removeprefix("toy:"))
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"prompt set {spec!r}: no such file. Give a .txt, a .jsonl, or toy:train / toy:heldout.")
    if path.suffix == ".jsonl":
        prompts = []
        for n, row in read_jsonl(path):
            if not isinstance(row.get("prompt"), str):
                raise InputError(f"{path} line {n} has no string 'prompt' field.")
            prompts.append(row["prompt"])
    else:
        prompts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not prompts:
        raise InputError(f"prompt set {spec!r} is empty; it needs at least one prompt.")
    return prompts
