"""Metrics of a run: ``RUN/metrics.jsonl`` (one object per logged update) and optional TensorBoard."""

from __future__ import annotations

import json
import os
from pathlib import Path

from diffusion_dro.errors import InputError


class MetricsLog:
    def __init__(self, run_dir: Path, tensorboard: bool, resume_after: int | None):
        self.path = run_dir / "metrics.jsonl"
        if resume_after is not None and self.path.is_file():
            # Drop lines past the checkpoint being resumed: they will be logged again.
            lines = [ln for ln in self.path.read_text().splitlines() if ln.strip()]
            kept = [ln for ln in lines if json.loads(ln).get("update", 0) <= resume_after]
            self.path.write_text("".join(ln + "\n" for ln in kept))
        elif resume_after is None:
            self.path.unlink(missing_ok=True)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as e:
                raise InputError("--tensorboard needs the tensorboard package: pip install 'diffusion-dro[tensorboard]'.") from e
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def write(self, update: int, values: dict[str, float]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"update": update, **values}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, update)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []
