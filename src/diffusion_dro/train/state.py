"""Checkpoints: everything a run needs to continue exactly where it stopped.

``checkpoint-N/`` holds ``training_state.pt`` (trainable weights, optimizer, LR
schedule, EMA, lagged policy, counters, elapsed time), ``buffers.pt`` (every
process's replay buffer and torch RNG state) and, for LoRA runs, the adapter in
diffusers format so a checkpoint also loads as ``--adapter``. It is written by the
main process under a temporary name and renamed into place when complete.

Not ``accelerate.save_state``: it saves the whole model, which for LoRA means
gigabytes of frozen base weights per checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from diffusion_dro.train.checkpointing import atomic_dir, latest_checkpoint, prune_checkpoints

STATE_FILE = "training_state.pt"
BUFFERS_FILE = "buffers.pt"


def write_checkpoint(run_dir: Path, updates: int, state: dict, per_process: list[dict], keep: int,
                     extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``run_dir/checkpoint-<updates>`` atomically; call on the main process only."""
    final = run_dir / f"checkpoint-{updates}"
    with atomic_dir(final) as tmp:
        torch.save(state, tmp / STATE_FILE)
        torch.save(per_process, tmp / BUFFERS_FILE)
        if extra is not None:
            extra(tmp)
    prune_checkpoints(run_dir, keep)
    return final


def read_checkpoint(run_dir: Path) -> tuple[Path, dict, list[dict]] | None:
    path = latest_checkpoint(run_dir)
    if path is None:
        return None
    state = torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)
    per_process = torch.load(path / BUFFERS_FILE, map_location="cpu", weights_only=False)
    return path, state, per_process
