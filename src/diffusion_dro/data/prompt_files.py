"""Readers for prompt files: plain text, JSON lines, JSON, CSV/TSV, Parquet and benchmark folders.

Every reader returns ``(prompt, group)`` pairs in file order; ``group`` is a label
a benchmark splits its prompts by (an HPDv2 style) or ``None``. The forms:

- ``.txt``: one prompt per line; blank lines are skipped.
- ``.jsonl``: one object per line with a string ``prompt`` (or ``caption``) field,
  and an optional string ``group``.
- ``.json``: a list of strings (an HPDv2 benchmark style file such as
  ``anime.json``, group = the file's stem), a list of objects as in ``.jsonl``,
  or an object mapping group -> list of strings (what ``hpsv2.benchmark_prompts('all')``
  returns, saved with ``json.dump``).
- ``.csv`` / ``.tsv``: a header row with a ``caption`` column (Pick-a-Pic) or a
  ``prompt`` column, and optionally ``group``.
- ``.parquet``: the same columns; the Pick-a-Pic v2 ``test`` / ``test_unique``
  split files read as they are (only the caption column is loaded). Needs pyarrow.
- a folder: every ``.json`` file in it read as above, in name order (the HPDv2
  ``benchmark/`` folder: ``anime.json``, ``concept-art.json``, ``paintings.json``, ``photo.json``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from diffusion_dro.data.jsonl import read_jsonl
from diffusion_dro.errors import InputError

PromptRows = list[tuple[str, str | None]]
TEXT_COLUMNS = ("prompt", "caption")
SUFFIXES = (".txt", ".jsonl", ".json", ".csv", ".tsv", ".parquet")


def _text_of(row: dict, where: str) -> tuple[str, str | None]:
    text = next((row[c] for c in TEXT_COLUMNS if isinstance(row.get(c), str)), None)
    if text is None:
        raise InputError(f"{where} has no string 'prompt' or 'caption' field; got keys {sorted(row)[:8]}.")
    group = row.get("group")
    return text, group if isinstance(group, str) else None


def read_txt(path: Path) -> PromptRows:
    return [(line.strip(), None) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_jsonl_prompts(path: Path) -> PromptRows:
    return [_text_of(row, f"{path} line {n}") for n, row in read_jsonl(path)]


def read_json(path: Path) -> PromptRows:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}).") from e
    if isinstance(data, dict):  # {"anime": [...], "photo": [...]}
        rows: PromptRows = []
        for group, items in data.items():
            if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
                raise InputError(f"{path}: group {group!r} must be a list of prompt strings.")
            rows += [(p, str(group)) for p in items]
        return rows
    if not isinstance(data, list):
        raise InputError(f"{path} must hold a list of prompts or an object of group -> prompts, "
                         f"got {type(data).__name__}.")
    rows = []
    for i, item in enumerate(data):
        if isinstance(item, str):
            rows.append((item, path.stem))
        elif isinstance(item, dict):
            rows.append(_text_of(item, f"{path} item {i}"))
        else:
            raise InputError(f"{path} item {i} must be a string or an object with 'prompt', got {item!r:.80}.")
    return rows


def _column(names: list[str], path: Path) -> str:
    found = next((c for c in TEXT_COLUMNS if c in names), None)
    if found is None:
        raise InputError(f"{path} has no 'prompt' or 'caption' column; its columns are {names[:12]}.")
    return found


def read_csv(path: Path) -> PromptRows:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ",")
        column = _column(list(reader.fieldnames or []), path)
        return [(row[column], row.get("group") or None) for row in reader if (row[column] or "").strip()]


def read_parquet(path: Path) -> PromptRows:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:
        raise InputError(f"reading {path} needs pyarrow: pip install 'diffusion-dro[parquet]' (or pyarrow).") from e
    names = pq.read_schema(path).names
    column = _column(names, path)
    table = pq.read_table(path, columns=[column] + (["group"] if "group" in names else []))
    texts = table.column(column).to_pylist()
    groups = table.column("group").to_pylist() if "group" in names else [None] * len(texts)
    return [(t, g) for t, g in zip(texts, groups) if isinstance(t, str) and t.strip()]


def read_folder(path: Path) -> PromptRows:
    files = sorted(path.glob("*.json"))
    if not files:
        raise InputError(f"prompt folder {path} holds no .json files; give an HPDv2 benchmark folder "
                         "(anime.json, concept-art.json, ...) or a prompt file.")
    return [row for f in files for row in read_json(f)]


READERS = {".txt": read_txt, ".jsonl": read_jsonl_prompts, ".json": read_json, ".csv": read_csv,
           ".tsv": read_csv, ".parquet": read_parquet}


def read_prompt_file(path: Path) -> PromptRows:
    """``(prompt, group)`` rows of a prompt file or benchmark folder (see the module docstring)."""
    if path.is_dir():
        return read_folder(path)
    reader = READERS.get(path.suffix.lower(), read_txt)  # other suffixes read as plain text, as before
    return reader(path)
