"""The lagged policy that samples DRO's negatives.

The policy is the model as it was at the last refresh (every ``refresh_every``
optimizer updates). While it equals the model (always, with the default of a
refresh every update: the model only changes at updates) no copy exists and the
model samples directly. Otherwise a snapshot of the trainable tensors is kept
and swapped in (pointer swap, no copy) only while sampling; for LoRA those
tensors are just the adapter, so the shared base is never duplicated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


class LaggedPolicy:
    def __init__(self, params: list[torch.nn.Parameter], refresh_every: int):
        if refresh_every <= 0:
            raise ValueError(f"refresh_every must be positive, got {refresh_every}")
        self.params = params
        self.refresh_every = refresh_every
        self.snapshot: list[torch.Tensor] | None = None  # None: the policy is the model
        self.version = 0  # changes whenever the policy's values do (caches key on it)

    def before_update(self, updates_done: int) -> None:
        """Call just before optimizer update number ``updates_done + 1`` changes the model."""
        if self.snapshot is None and (updates_done + 1) % self.refresh_every != 0:
            self.snapshot = [p.detach().clone() for p in self.params]

    def after_update(self, updates_done: int) -> None:
        """Call after the update; ``updates_done`` counts it. Refreshes on multiples of ``refresh_every``."""
        if updates_done % self.refresh_every == 0:
            self.snapshot = None
        if self.snapshot is None:  # the policy follows the model, which just changed
            self.version += 1

    @property
    def is_model(self) -> bool:
        """True while the policy holds the model's current values (no lagged snapshot)."""
        return self.snapshot is None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Within the block the trainable tensors hold the policy's values."""
        if self.snapshot is None:
            yield
            return
        current = [p.data for p in self.params]
        try:
            for p, s in zip(self.params, self.snapshot):
                p.data = s
            yield
        finally:
            for p, c in zip(self.params, current):
                p.data = c

    def state_dict(self) -> dict:
        return {"snapshot": None if self.snapshot is None else [s.cpu() for s in self.snapshot]}

    def load_state_dict(self, state: dict) -> None:
        snap = state["snapshot"]
        self.snapshot = None if snap is None else [s.to(p.device, p.dtype) for s, p in zip(snap, self.params)]
        self.version += 1
