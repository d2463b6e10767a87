"""Finding and reading scorer weights: a hub id, a local folder or a local file.

A source is taken as local when it exists, starts with ``/``, ``.`` or ``~``,
ends in a weights suffix, or has more than one ``/``; a missing local source is
an error that says so, rather than a confusing hub lookup. Anything else is a
hub id (``owner/name`` or a legacy ``name``), fetched through ``huggingface_hub``
(its cache and ``HF_HUB_OFFLINE`` apply).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from diffusion_dro.errors import ModelLoadError

__all__ = ["is_local", "resolve_file", "resolve_folder", "read_state_dict", "load_tokenizer", "tokenizer_source"]

WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt")


def is_local(source: str) -> bool:
    """Whether ``source`` names a local path rather than a hub id (see the module docstring)."""
    return (
        Path(source).expanduser().exists()
        or source.startswith(("/", ".", "~"))
        or source.endswith(WEIGHT_SUFFIXES)
        or source.count("/") > 1
    )


def resolve_file(source: str, filename: str, what: str) -> Path:
    """The path of a weights file given a file, a folder holding ``filename``, or a hub repo with it.

    Args:
        source: a file path, a folder path, or a hub repo id.
        filename: the file to take from a folder or hub repo, e.g. ``"HPS_v2.1_compressed.pt"``.
        what: the scorer's name, for error messages.

    Raises:
        ModelLoadError: the path is missing, the folder lacks ``filename``, or the hub download failed.
    """
    if is_local(source):
        path = Path(source).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            if (path / filename).is_file():
                return path / filename
            raise ModelLoadError(
                f"{what}: folder {str(path)!r} has no {filename!r}. Put the file there or pass the file's path."
            )
        raise ModelLoadError(f"{what}: weights path {str(path)!r} does not exist. Check the path or pass a hub id.")
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo_id=source, filename=filename))
    except Exception as err:  # the hub raises many types; all mean "not available here"
        raise ModelLoadError(
            f"{what}: could not get {filename!r} from hub repo {source!r} ({type(err).__name__}: {err}). "
            "Without hub access, download it elsewhere and pass the local file or folder."
        ) from err


def resolve_folder(source: str, what: str) -> str:
    """Check a ``from_pretrained`` source: a local folder must exist; hub ids pass through."""
    if is_local(source) and not Path(source).expanduser().is_dir():
        raise ModelLoadError(f"{what}: model folder {source!r} does not exist. Check the path or pass a hub id.")
    return str(Path(source).expanduser()) if is_local(source) else source


def read_state_dict(path: Path, what: str) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` or torch-pickled state dict; a ``{"state_dict": ...}`` wrapper is unwrapped.

    Pickles are read with ``weights_only=True``: tensors and plain containers only.
    """
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelLoadError(f"{what}: could not read weights file {str(path)!r} ({type(err).__name__}: {err}).") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{what}: {str(path)!r} does not hold a state dict of tensors.")
    return {k.removeprefix("module."): v for k, v in state.items()}


def tokenizer_source(model_source: str | None, override: str | None, default: str) -> str:
    """Where to load a tokenizer from: ``override``, else a local model folder holding tokenizer files, else ``default``."""
    if override is not None:
        return override
    if model_source is not None and is_local(model_source):
        folder = Path(model_source).expanduser()
        if folder.is_dir() and any((folder / name).is_file() for name in _TOKENIZER_FILES):
            return str(folder)
    return default


def load_tokenizer(source: str, what: str) -> Any:
    """``AutoTokenizer.from_pretrained(source)`` with errors that name the scorer and the fix."""
    from transformers import AutoTokenizer

    source = resolve_folder(source, f"{what} tokenizer")
    try:
        return AutoTokenizer.from_pretrained(source)
    except Exception as err:
        raise ModelLoadError(
            f"{what}: could not load a tokenizer from {source!r} ({type(err).__name__}: {err}). "
            "Pass tokenizer=<local folder with tokenizer files> or check hub access."
        ) from err
