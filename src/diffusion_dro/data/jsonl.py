"""Reading JSON-lines files with errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from diffusion_dro.errors import InputError


def read_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; InputError for a line that is not a JSON object."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path} line {n} is not valid JSON ({e.msg}); each line must be an object.") from e
        if not isinstance(row, dict):
            raise InputError(f"{path} line {n} must be a JSON object, got {line[:120]!r}.")
        yield n, row
