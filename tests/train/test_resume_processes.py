"""Resume after SIGKILL, and two CPU processes, in subprocesses running the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
ARGS = ["--rollout-steps", "4", "--batch-size", "4", "--new-trajectories", "2", "--timesteps-per-trajectory", "2",
        "--buffer-size", "8", "--lora-rank", "4", "--device", "cpu", "--no-progress", "--ema-decay", "0.9"]


def dro(*args: str) -> list[str]:
    return [sys.executable, "-m", "diffusion_dro.cli.main", *args]


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "final" / "pytorch_lora_weights.safetensors")


def test_sigkill_then_resume_is_bit_exact(tmp_path, toy_expert_dir):
    common = ["train", "--experts", toy_expert_dir, "--max-steps", "6", "--checkpoint-every", "2", *ARGS]
    subprocess.run(dro(*common, "--out", str(tmp_path / "straight")), env=ENV, check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(dro(*common, "--out", str(killed)), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint-4").is_dir() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (killed / "checkpoint-4").is_dir() and not (killed / "final").exists(), "killed too late to test resume"
    again = subprocess.run(dro(*common, "--out", str(killed)), env=ENV, capture_output=True, text=True)
    assert again.returncode == 2 and "--resume" in again.stderr  # refuses to overwrite silently
    subprocess.run(dro(*common, "--out", str(killed), "--resume"), env=ENV, check=True, capture_output=True)

    a, b = weights(tmp_path / "straight"), weights(killed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    la = (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    lb = (killed / "metrics.jsonl").read_text().splitlines()
    strip = lambda lines: [{k: v for k, v in json.loads(x).items()  # noqa: E731
                            if k not in ("pairs_per_s", "elapsed_s")} for x in lines]
    assert strip(la) == strip(lb)


@pytest.mark.skipif(shutil.which("accelerate") is None, reason="accelerate CLI not on PATH")
def test_two_processes_match_one_at_the_same_global_batch(tmp_path, toy_expert_dir):
    common = ["train", "--experts", toy_expert_dir, "--max-steps", "2", "--rollout-steps", "4", "--lora-rank", "4",
              "--timesteps-per-trajectory", "1", "--device", "cpu", "--no-progress"]
    one = tmp_path / "one"
    subprocess.run(dro(*common, "--out", str(one), "--batch-size", "4", "--new-trajectories", "4",
                       "--buffer-size", "4"), env=ENV, check=True, capture_output=True)
    two = tmp_path / "two"
    launch = [shutil.which("accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "29517",
              "-m", "diffusion_dro.cli.main", *common, "--out", str(two), "--batch-size", "2",
              "--new-trajectories", "2", "--buffer-size", "2"]
    res = subprocess.run(launch, env=ENV, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "2 processes" in res.stdout
    a, b = weights(one), weights(two)
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=2e-4, rtol=1e-3)
