"""Counter-based randomness: every random draw is keyed by what it is for, not by call order.

A draw's seed is a hash of (run seed, purpose, update, sample id, ...). The noise of
sample j in update u is therefore the same whether it runs in a batch of 4 or as
4 accumulated batches of 1, on one process or two, and after a resume, with no RNG
state to save. (Philox-style keying, as in JAX's ``fold_in``.)
"""

from __future__ import annotations

import hashlib
import struct

import torch

PURPOSES = ("data", "traj-noise", "traj-offset", "dropout", "flip", "expert-noise", "expert-t", "draw", "steps", "neg-t")


def key_seed(seed: int, purpose: str, *counters: int) -> int:
    """A 63-bit seed from the run seed, a purpose name and integer counters."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown randomness purpose {purpose!r}")
    data = struct.pack(f"<q{len(counters)}q", seed, *counters) + purpose.encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 1


def keyed_generator(seed: int, purpose: str, *counters: int) -> torch.Generator:
    return torch.Generator("cpu").manual_seed(key_seed(seed, purpose, *counters))


def keyed_randn(shape: tuple[int, ...], seed: int, purpose: str, *counters: int) -> torch.Tensor:
    """Standard normal noise of ``shape`` on the CPU in float32 (move it where it is needed)."""
    return torch.randn(shape, generator=keyed_generator(seed, purpose, *counters))


def keyed_uniform(seed: int, purpose: str, *counters: int) -> float:
    return float(torch.rand((), generator=keyed_generator(seed, purpose, *counters)))


def keyed_randint(high: int, seed: int, purpose: str, *counters: int) -> int:
    return int(torch.randint(high, (), generator=keyed_generator(seed, purpose, *counters)))
