"""Prompt sets: ``toy:train`` / ``toy:heldout``, a prompt file, or a benchmark folder.

File forms (``.txt``, ``.jsonl``, ``.json`` incl. HPDv2 benchmark files, ``.csv``/``.tsv``
and ``.parquet`` incl. the Pick-a-Pic v2 test split) are read by
:mod:`diffusion_dro.data.prompt_files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from diffusion_dro.data.prompt_files import SUFFIXES, read_prompt_file
from diffusion_dro.errors import InputError


@dataclass(frozen=True)
class PromptSet:
    """Prompts in file order with their groups (``None`` where the source has none)."""

    source: str
    prompts: list[str]
    groups: list[str | None]

    def __len__(self) -> int:
        return len(self.prompts)

    def unique(self) -> PromptSet:
        """The set without repeated prompts (first occurrence kept, order preserved)."""
        seen: dict[str, str | None] = {}
        for p, g in zip(self.prompts, self.groups):
            seen.setdefault(p, g)
        return PromptSet(self.source, list(seen), list(seen.values()))

    def head(self, n: int | None) -> PromptSet:
        return self if n is None else PromptSet(self.source, self.prompts[:n], self.groups[:n])


def load_prompt_set(spec: str) -> PromptSet:
    """Read ``spec``; InputError if it does not exist or holds no prompts."""
    if spec.startswith("toy:"):
        from diffusion_dro.toy.world import prompts_for

        prompts = prompts_for(spec.removeprefix("toy:"))
        return PromptSet(spec, prompts, [None] * len(prompts))
    path = Path(spec)
    if not path.exists():
        raise InputError(
            f"prompt set {spec!r}: no such file or folder. Give toy:train, toy:heldout, a prompt file "
            f"({', '.join(SUFFIXES)}) or an HPDv2 benchmark folder."
        )
    rows = [(p.strip(), g) for p, g in read_prompt_file(path) if p.strip()]
    if not rows:
        raise InputError(f"prompt set {spec!r} is empty; it needs at least one prompt.")
    return PromptSet(spec, [p for p, _ in rows], [g for _, g in rows])


def load_prompts(spec: str) -> list[str]:
    """The prompts of :func:`load_prompt_set` as a list."""
    return load_prompt_set(spec).prompts
