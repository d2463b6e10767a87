"""Where a training update's time goes: cProfile of N updates of ``dro train``, per part, per update.

Run: OMP_NUM_THREADS=1 python benchmarks/train_step_profile.py EXPERTS [--objective dro] [--updates 120]
     [--fused-lora on off] [--lora-rank 32]
Each ``--fused-lora`` value is one run (the demo's training options: LoRA, Min-SNR 5, one thread when
OMP_NUM_THREADS=1), in a fresh temporary folder. Prints milliseconds per update of the model's forward, the
backward, the reference's forwards, the policy's rollouts and the whole run (start-up included).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from pathlib import Path

from diffusion_dro.train.config import TrainConfig
from diffusion_dro.train.loop import train

# (label, file suffix, function name) of the cumulative times reported.
PARTS = [
    ("model forward", "train/networks.py", "<lambda>"),
    ("backward", "torch/_tensor.py", "backward"),
    ("reference", "train/networks.py", "ref_predict"),
    ("rollouts", "train/pairs.py", "_rollout"),
]


def profile(experts: str, objective: str, updates: int, fused: str, rank: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(out=str(Path(tmp) / "run"), experts=experts, objective=objective, max_steps=updates,
                          fused_lora=fused, lora_rank=rank, snr_gamma=5.0, progress=False, checkpoint_every=10**6)
        prof = cProfile.Profile()
        prof.enable()
        train(cfg)
        prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (calls, primitive, tottime, cumtime, callers)}
    ms = {"whole run": sum(v[2] for v in stats.values()) * 1000 / updates}
    for label, suffix, name in PARTS:
        ms[label] = sum(v[3] for (f, _, n), v in stats.items() if f.endswith(suffix) and n == name) * 1000 / updates
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experts")
    ap.add_argument("--objective", default="dro")
    ap.add_argument("--updates", type=int, default=120)
    ap.add_argument("--fused-lora", nargs="+", default=["on", "off"])
    ap.add_argument("--lora-rank", type=int, default=32)
    args = ap.parse_args()
    for fused in args.fused_lora:
        ms = profile(args.experts, args.objective, args.updates, fused, args.lora_rank)
        print(f"--fused-lora {fused}: " + ", ".join(f"{k} {v:.0f} ms" for k, v in ms.items()), flush=True)


if __name__ == "__main__":
    main()
