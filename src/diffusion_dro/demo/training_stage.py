"""Demo stage 4 of each round: DRO and SFT side by side, each an ordinary ``dro train`` process.

Both methods train at the same time for the round's share of ``--minutes``, each with half of
the CPU threads (``OMP_NUM_THREADS``). On 2 cores one thread per process makes
70-75% of the updates per minute that two threads make (batches of 8 do not keep
a second core busy; measured in BENCHMARKS.md), so side by side each method gets
1.4-1.5x the updates it would get from half of the wall clock alone.

Each process is ``dro train --config OUT/round-N/train/<method>.json`` (the resolved
``TrainConfig``; ``--resume`` is on, so a re-run continues from the newest
checkpoint; after round 1, ``--init-adapter`` starts it from the method's previous
adapter). Its output goes to ``OUT/round-N/train/<method>.log`` and is echoed here,
prefixed with the method; the progress bars read each run's ``metrics.jsonl``. On
Linux the processes are killed with the demo (``PR_SET_PDEATHSIG``), so a killed
demo leaves no training behind to race its re-run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from diffusion_dro.errors import DroError
from diffusion_dro.train.config import TrainConfig

CHECKPOINT_EVERY = 25


class TrainingFailed(DroError):
    """A demo training process exited with an error; the message holds its log's tail."""


def train_configs(cfg, experts: Path, root: Path, methods: list[str], minutes: float,
                  init: dict[str, Path] | None = None) -> dict[str, TrainConfig]:
    """The ``dro train`` options of each method (validated now, before any process starts); ``init`` holds
    each method's adapter of the previous round, which its run continues (``--init-adapter``)."""
    return {m: TrainConfig(out=str(root / m), experts=str(experts), objective=m, model="toy",
                           max_minutes=minutes, resume=True, seed=cfg.seed, progress=False,
                           checkpoint_every=CHECKPOINT_EVERY, lora_rank=cfg.lora_rank, snr_gamma=cfg.snr_gamma,
                           prompt_dropout=cfg.prompt_dropout,
                           init_adapter=None if init is None else str(init[m])) for m in methods}


def _cpu_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _die_with_parent() -> None:  # runs in the child between fork and exec (Linux only)
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


class _Tail:
    """New complete lines of a growing text file, from where it ended when the tail started.

    A file that shrank (``metrics.jsonl`` is cut back to the checkpoint on resume) is read again from its start.
    """

    def __init__(self, path: Path):
        self.path, self.pos, self.partial = path, path.stat().st_size if path.exists() else 0, ""

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        if self.path.stat().st_size < self.pos:
            self.pos, self.partial = 0, ""
        with self.path.open("r", errors="replace") as f:
            f.seek(self.pos)
            text = f.read()
            self.pos = f.tell()
        *done, self.partial = (self.partial + text).split("\n")
        return done


def train_side_by_side(configs: dict[str, TrainConfig], root: Path, progress: bool) -> None:
    """Run every config's ``dro train`` at once; returns when all have written ``final/``."""
    pending = {m: c for m, c in configs.items() if not (Path(c.out) / "final" / "training_summary.json").is_file()}
    if not pending:
        return
    root.mkdir(parents=True, exist_ok=True)
    threads = str(max(1, _cpu_threads() // len(pending)))
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    procs: dict[str, subprocess.Popen] = {}
    tails: dict[str, _Tail] = {}
    metrics: dict[str, _Tail] = {m: _Tail(Path(c.out) / "metrics.jsonl") for m, c in pending.items()}
    bars: dict[str, tqdm] = {}

    def echo(m: str, lines: list[str]) -> None:
        for line in lines:
            if line.strip():
                tqdm.write(f"      {m} | {line.strip()}")

    try:
        for i, (m, c) in enumerate(pending.items()):
            file = root / f"{m}.json"
            file.write_text(json.dumps(asdict(c), indent=2))
            log = root / f"{m}.log"
            tails[m] = _Tail(log)
            with log.open("a") as out:
                procs[m] = subprocess.Popen(
                    [sys.executable, "-m", "diffusion_dro.cli.main", "train", "--config", str(file)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
            bars[m] = tqdm(total=round(c.max_minutes * 60), desc=f"train {m}", unit="s", position=i,
                           disable=not progress, dynamic_ncols=True, leave=True)
        running = set(procs)
        while running:
            time.sleep(0.5)
            for m in sorted(procs):
                echo(m, tails[m].lines())
                new = metrics[m].lines() if progress else []  # only the lines added since the last look
                if new:
                    last = json.loads(new[-1])
                    bars[m].n = min(bars[m].total, round(last["elapsed_s"]))
                    bars[m].set_postfix(updates=last["update"], loss=f"{last['loss']:.4g}", refresh=False)
                    bars[m].refresh()
                if m in running and procs[m].poll() is not None:
                    running.discard(m)
        for m in sorted(procs):  # what a process wrote between the last read and its exit
            echo(m, tails[m].lines() + [tails[m].partial])
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait()
        for b in bars.values():
            b.close()
    failed = {m: p.returncode for m, p in procs.items() if p.returncode != 0}
    if failed:
        m, code = next(iter(failed.items()))
        tail = "\n".join((root / f"{m}.log").read_text(errors="replace").splitlines()[-15:])
        raise TrainingFailed(f"dro train for {m} exited with code {code} (log: {root / f'{m}.log'}); "
                             f"re-run the demo to resume it. Last lines:\n{tail}")
